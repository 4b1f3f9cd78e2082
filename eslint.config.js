import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/**
 * The import rules each folder's README states ("May import: ..."), by README: files under
 * `target` may not import anything under `from` except what `except` lists (relative to `from`).
 */
const IMPORT_RULES = Object.entries({
  // policies/ through its facade and the wire contract; nothing else of control-plane/.
  'proxy/README.md': [['./proxy', './control-plane', ['./api']], ['./proxy', './policies', ['./index.ts']], ['./proxy', './deploy']],
  // policies/ through its facade; never proxy/. The wire contract stands alone, so that what
  // proxy/ imports of control-plane/ brings nothing else with it.
  'control-plane/README.md': [['./control-plane', './proxy'], ['./control-plane', './policies', ['./index.ts']], ['./control-plane', './deploy'], ['./control-plane/api', './control-plane', ['./api']]],
  'control-plane/ca/README.md': [['./control-plane/ca', './control-plane', ['./ca', './api', './cli/store-option.ts']]],
  'policies/README.md': [['./policies', './proxy'], ['./policies', './control-plane'], ['./policies', './deploy']],
  'policies/engine/builtins/README.md': [['./policies/engine/builtins', './policies', ['./engine/builtins', './engine/value.ts']]],
  'proxy/tls/README.md': [['./proxy/tls', './proxy', ['./tls', './transport-security.ts', './http/headers.ts', './config/types.ts']]],
  'proxy/xds/README.md': [['./proxy/xds', './proxy', ['./xds', './tls', './config', './filters']]],
  // The entry modules of the others.
  'deploy/README.md': [['./deploy', './proxy', ['./cli.ts', './filters/inference/openai-body.ts']], ['./deploy', './policies', ['./cli.ts']], ['./deploy', './control-plane', ['./cli.ts', './cli', './api', './ca/index.ts', './ca/token-cli.ts']]],
}).flatMap(([readme, zones]) => zones.map(([target, from, except = []]) => ({ target, from, except, message: `see "May import" in ${readme}` })));

/**
 * undici's deprecated dispatch-handler callbacks: the upstream side uses its handler API
 * (onRequestStart, onRequestUpgrade, onResponseStart, onResponseData, onResponseEnd,
 * onResponseError, with a controller to pause, resume and abort). A handler that still had one
 * would see it silently never called, since undici prefers the handler API when both are there.
 */
const DEPRECATED_HANDLER_CALLBACKS = 'Connect|Headers|Data|Complete|Error|Upgrade|BodySent|ResponseStarted';
const deprecatedHandlerCallback = (selector) => ({
  selector,
  message: "undici's deprecated handler callback: use its handler API (onRequestStart, onResponseStart, onResponseData, onResponseEnd, onResponseError, onRequestUpgrade)",
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.weft/**', 'reports/**', '.stryker-tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  importX.flatConfigs.typescript,
  {
    languageOptions: { globals: globals.node },
    settings: {
      'import-x/resolver': null,
      // Sources import `./x.js` for `./x.ts` (Node's ESM resolution after the build).
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'], extensionAlias: { '.js': ['.ts', '.js'] } })],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
      'import-x/no-restricted-paths': ['error', { zones: IMPORT_RULES }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['proxy/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        deprecatedHandlerCallback(`MethodDefinition[key.name=/^on(${DEPRECATED_HANDLER_CALLBACKS})$/]`),
        deprecatedHandlerCallback(`PropertyDefinition[key.name=/^on(${DEPRECATED_HANDLER_CALLBACKS})$/]`),
        // `onError` is also an ordinary option of other callers (a scraper's error callback);
        // a handler's is refused above, and UpstreamHandler's type has none to call.
        deprecatedHandlerCallback('Property[key.name=/^on(Connect|Headers|Data|Complete|Upgrade|BodySent|ResponseStarted)$/]'),
        deprecatedHandlerCallback('MemberExpression[property.name=/^on(Connect|Headers|Data|Complete|Upgrade|BodySent|ResponseStarted)$/]'),
      ],
    },
  },
  // The dashboard's page scripts run in the browser.
  { files: ['control-plane/admin/dashboard/**/*.js'], languageOptions: { globals: globals.browser } },
);
