// `npm start` / `npm run dev`: the server's entry point. It checks the Node.js
// version and only then loads the rest (src/start.ts), whose imports load
// native modules that crash an unsupported Node without a word.
import { exitUnlessSupportedNode } from './startup/node-version.js';

exitUnlessSupportedNode();
await import('./start.js');
