// ESLint flat config: @eslint/js recommended + typescript-eslint recommended, syntax-only (no type
// information, so `eslint .` stays fast; `tsc --noEmit` in `npm run lint` does the type checking).
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';
// `globals` comes with eslint (through @eslint/eslintrc); not a direct devDependency.
import globals from 'globals';

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
