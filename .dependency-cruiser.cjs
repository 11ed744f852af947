// The layering of src/, checked in CI (`npm run lint`): a folder imports only
// folders below it, so each concern can be read, tested and replaced from the
// bottom up (README, "Architecture").
//
//   top       entry points and wiring: src/main.ts, start.ts, server.ts, workers.ts, compose.ts (the composition
//             root), app.ts, setup.ts, serve.ts;
//             src/api/main.ts and server.ts (the API's own process); src/cli/
//   features  src/interactions/ (pages), src/console/ (the developer console), src/api/ (the resource API)
//   provider  src/oidc/
//   services  src/accounts/, src/consents/, src/clients/, src/web/ (what every page shares:
//             views, i18n, CSRF, the HTML error page), src/security/, src/observability/, src/errors/
//   base      src/db/, src/config/, src/startup/, src/routes.ts, src/log.ts, src/root.ts
//
// .dependency-cruiser-known-violations.json lists edges tolerated for now
// (`npm run lint:layers:baseline` rewrites it); it is empty, and any edge
// that breaks the layers fails the lint.
const TOP = '^src/(main|start|server|workers|compose|app|setup|serve)[.]ts$|^src/api/(main|server)[.]ts$|^src/cli/';
const FEATURES = '^src/(interactions|console)/|^src/api/(?!(main|server)[.]ts$)';
const PROVIDER = '^src/oidc/';
const SERVICES = '^src/(accounts|consents|clients|web|security|observability|errors)/';
const BASE = '^src/(db|config|startup)/|^src/(routes|log|root)[.]ts$';

const below = (name, from, to) => ({ name, severity: 'error', from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    below('features-not-up', FEATURES, TOP),
    below('features-not-sideways', '^src/interactions/', '^src/api/'),
    below('features-not-sideways-api', '^src/api/', '^src/interactions/'),
    below('provider-not-up', PROVIDER, `${TOP}|${FEATURES}`),
    below('services-not-up', SERVICES, `${TOP}|${FEATURES}|${PROVIDER}`),
    below('base-not-up', BASE, `${TOP}|${FEATURES}|${PROVIDER}|${SERVICES}`),
    { name: 'src-not-tests', severity: 'error', from: { path: '^src/' }, to: { path: '^tests/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/db/generated/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs'] },
  },
};
