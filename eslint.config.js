// Lint rules: typescript-eslint, sorted imports, and the architecture's import
// directions (docs/architecture.md) as no-restricted-imports per folder.
// Formatting is prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Modules matching `files` (but not `ignores`) may not import what any of `rules` names. */
const forbid = (files, rules, ignores = []) => ({
  files,
  ignores,
  rules: {
    'no-restricted-imports': ['error', { patterns: rules.map(([group, message]) => ({ group, message })) }],
  },
});
// A later block replaces an earlier one's rule for the files both match, so each
// block below lists every restriction of its folders.
const compositionRoot = [
  ['../baton.ts', '../index.ts', '../cli/*'],
  'only the CLI and index.ts see the composition root',
];
const noPlanner = [['../planner/*'], 'the planner builds on schedules and runs, not the reverse'];
const noScheduler = [['../planner/*', '../leader/*', '../listener/*'], 'workers run without a scheduler'];

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.baton'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  forbid(['src/*/**'], [compositionRoot], ['src/cli/**']),
  forbid(['src/schedules/**', 'src/runs/**', 'src/db/**', 'src/dispatch/**'], [compositionRoot, noPlanner]),
  forbid(['src/executors/**'], [compositionRoot, noScheduler]),
  forbid(['src/core/**'], [[['../*'], 'core is the leaf kernel: it imports nothing internal']]),
  // Small units: a reader holds a file and a function in view.
  { files: ['src/**/*.ts'], rules: { 'max-lines': ['error', 300], 'max-lines-per-function': ['error', 60] } },
  { files: ['test/**', 'bench/**'], rules: { '@typescript-eslint/no-non-null-assertion': 'off' } },
  // The dashboard is plain JavaScript for the browser, bundled into one script by npm run build.
  {
    files: ['dashboard/**/*.js'],
    languageOptions: { globals: globals.browser },
    rules: { 'max-lines': ['error', 300], 'max-lines-per-function': ['error', 60] },
  },
  // The examples are plain JavaScript apps for Node.
  { files: ['examples/**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
);
