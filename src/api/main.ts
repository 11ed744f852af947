// `npm run start:api`: the API on its own. Checks the Node.js version before
// loading anything native (see src/main.ts), then starts src/api/server.ts.
import { exitUnlessSupportedNode } from '../startup/node-version.js';

exitUnlessSupportedNode();
await import('./server.js');
