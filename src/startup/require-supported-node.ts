// Preloaded (`tsx --import`) by the command line's npm scripts: the Node.js
// check of src/main.ts, for entry points that do not make it themselves.
import { exitUnlessSupportedNode } from './node-version.js';

exitUnlessSupportedNode();
