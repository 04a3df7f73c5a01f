// ESLint flat config: @eslint/js recommended + typescript-eslint recommended, syntax-only (no type
// information, so `eslint .` stays fast; `tsc --noEmit` in `npm run lint` does the type checking).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
// `globals` comes with eslint (through @eslint/eslintrc); not a direct devDependency.
import globals from 'globals';

const TESTS = ['**/*.spec.ts', '**/*.test.ts', '**/*.test.tsx', '**/test/**', '**/dev/**'];
const DEVKIT = {
  group: ['@cpg/devkit', '@cpg/devkit/**'],
  message: 'Runtime code never imports @cpg/devkit (dev chains, embedded services, test support): it is a devDependency only.',
};
const WATCHERS = { group: ['@cpg/chains/watchers', '@cpg/chains/*/watcher'], message: 'Chain watchers belong to the tracker alone (DESIGN: one scan loop).' };
const SIGNERS = {
  group: ['@cpg/chains/signers', '@cpg/chains/*/signer', '@cpg/chains/*/replace', '@cpg/chains/keys', '@cpg/chains/keys/**', '@cpg/chains/evm/dev-accounts'],
  message: 'Signers and keys belong to the signer worker alone: nothing else holds or uses private keys.',
};
const CHAINS_LAYER = { group: ['@cpg/chains', '@cpg/chains/**'], message: '@cpg/core is the kernel under the chain layer: it never imports @cpg/chains.' };
const CROSS_PACKAGE = {
  group: ['**/shared/*/src/**', '**/subgraphs/*/src/**', '**/workers/*/src/**'],
  message: 'Import another workspace package by its name (@cpg/core/...), not by a relative path into its src.',
};

/** One no-restricted-imports entry per privilege zone, plus process.env only in config modules. */
function houseRules() {
  const zone = (files, patterns) => ({ files, ignores: TESTS, rules: { 'no-restricted-imports': ['error', { patterns }] } });
  return [
    zone(['shared/core/src/**/*.ts'], [DEVKIT, CHAINS_LAYER, CROSS_PACKAGE]),
    zone(['shared/chains/src/**/*.ts'], [DEVKIT, CROSS_PACKAGE]),
    zone(['gateway/src/**/*.ts', 'subgraphs/*/src/**/*.ts'], [DEVKIT, WATCHERS, SIGNERS, CROSS_PACKAGE]),
    zone(['workers/tracker/src/**/*.ts'], [DEVKIT, SIGNERS, CROSS_PACKAGE]),
    zone(['workers/collector/src/**/*.ts'], [DEVKIT, WATCHERS, SIGNERS, CROSS_PACKAGE]),
    zone(['workers/signer/src/**/*.ts'], [DEVKIT, WATCHERS, CROSS_PACKAGE]),
    {
      // The environment is read where configuration is parsed (one zod model per process) and
      // passed down, so what a process depends on is visible in one file.
      files: ['shared/core/src/**/*.ts', 'shared/chains/src/**/*.ts', 'gateway/src/**/*.ts', 'subgraphs/*/src/**/*.ts', 'workers/*/src/**/*.ts'],
      ignores: [...TESTS, '**/config.ts', '**/config/index.ts', '**/src/index.ts', 'shared/chains/src/networks.ts'],
      rules: {
        'no-restricted-properties': [
          'error',
          { object: 'process', property: 'env', message: 'Read the environment in a config module (config.ts) and pass values in.' },
        ],
      },
    },
  ];
}

export default defineConfig(
  globalIgnores(['**/node_modules/', '**/.data/', '**/coverage/', '**/dist/', 'widget/dist/', '**/generated/', 'gateway/supergraph.graphql']),
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // `interface FooContext extends BaseContext {}` is the placeholder each subgraph grows into.
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          // `catch (err) { fallback }` is common in the scripts; Node 20 allows `catch {}` too.
          caughtErrors: 'none',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  // ---- House rules: who may import what (docs/architecture.md, "Privilege rules") ----
  // Tests, specs, dev tooling, scripts and benches may import anything; the rules below are for
  // code that ships. A forbidden import is a lint error naming the rule it breaks.
  ...houseRules(),
  {
    // Plain Node ES modules (this file): Node's globals without CommonJS's require/__dirname.
    files: ['**/*.mjs'],
    languageOptions: { globals: { ...globals.nodeBuiltin } },
  },
  {
    // Plain Node CommonJS scripts and config files (scripts/bootstrap.cjs, jest.config.js).
    files: ['**/*.cjs', '**/*.js'],
    ignores: ['widget/**'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
