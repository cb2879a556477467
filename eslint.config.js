// Lint rules: typescript-eslint, sorted imports, and the architecture's import
// directions (docs/architecture.md) as no-restricted-paths zones. Formatting is prettier's.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import importX from 'eslint-plugin-import-x';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

/** Modules under `target` may not import from `from`. */
const zone = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ['node_modules', 'dist', '.baton'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    plugins: { 'simple-import-sort': simpleImportSort, 'import-x': importX },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            zone(
              './src/core',
              ['./src/!(core)/**', './src/*.ts'],
              'core is the leaf kernel: it imports nothing internal',
            ),
            zone(
              './src/executors',
              ['./src/planner', './src/leader', './src/listener'],
              'workers run without a scheduler',
            ),
            zone(
              ['./src/schedules', './src/runs', './src/db'],
              ['./src/planner'],
              'the planner builds on schedules and runs, not the reverse',
            ),
            zone(
              ['./src/!(cli)/**', './src/baton.ts', './src/version.ts'],
              ['./src/cli', './src/index.ts'],
              'nothing imports the CLI or the public entry point',
            ),
            zone('./src/!(cli)/**', ['./src/baton.ts'], 'only the CLI and index.ts see the composition root'),
          ],
        },
      ],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
