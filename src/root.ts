// The project root (where views/, public/ and prisma/ live), from src/ under
// tsx or from dist/src/ once compiled. A module of its own at the base, so
// that learning where the project is loads nothing else (`start:api` needs
// it for the migrations, and must not load the provider to get it).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'src')) ? join(here, '..', '..') : join(here, '..');
})();
