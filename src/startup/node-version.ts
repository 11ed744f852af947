// Which Node.js this product runs on, checked before anything loads a native
// module: on Node 20 the SQLite driver (better-sqlite3 13, built for Node
// 22+) kills the process with a segmentation fault and no word of why, and
// `engine-strict` in .npmrc only guards `npm install`. Imports nothing, so
// that it runs on any Node. Keep in step with package.json "engines" and
// .nvmrc (tests/first-start.test.ts compares them).
import { EXIT } from './exit-codes.js';

export const REQUIRED_NODE_MAJOR = 24;

/** Why this Node.js will not do, in one line; undefined when it will. */
export function nodeVersionProblem(version = process.versions.node, execPath = process.execPath): string | undefined {
  if (Number(version.split('.')[0]) === REQUIRED_NODE_MAJOR) return undefined;
  return (
    `this project needs Node.js ${REQUIRED_NODE_MAJOR}, and ${execPath} is v${version}. ` +
    `Get it with \`npm install --prefix /opt/node24 node@24\` and \`export PATH=/opt/node24/node_modules/node/bin:$PATH\` (or \`nvm use\`, see .nvmrc)`
  );
}

export function exitUnlessSupportedNode(): void {
  const problem = nodeVersionProblem();
  if (!problem) return;
  process.stderr.write(`cannot start: ${problem}\n`);
  process.exit(EXIT.nodeVersion);
}
