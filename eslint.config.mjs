// @ts-check
import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

/**
 * What the compiler cannot see. Every file: a promise nobody awaits or handles is an error
 * (a failed signal or write would vanish, or crash the process as an unhandled rejection).
 * Workflow code must replay identically, so, as temporalio/samples-typescript does, it may
 * not import Node built-ins or PingBack's runtime modules (type imports are fine: they vanish
 * at compile time), nor read clocks, randomness, timers or the environment of its own.
 */
const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'web/dist/**', 'coverage/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // The dashboard's component tests compile with the dashboard's settings (DOM, JSX).
    files: ['test/web/**'],
    languageOptions: { parserOptions: { projectService: false, project: ['./web/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'pg', 'knex', 'koa', '@koa/router', '@temporalio/activity', '@temporalio/client', '@temporalio/worker'].map((name) => ({
            name,
            message: 'workflow code must be deterministic: do I/O in an activity',
          })),
          patterns: [
            {
              regex: '^(\\.\\./)+(activities|src/(?!channels/types$|temporal/(search-attributes|failure-types|request-id-header)$))',
              allowTypeImports: true,
              message: 'only types from outside workflows/ (runtime code there may do I/O); src/channels/types, src/temporal/search-attributes, failure-types and request-id-header are pure',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'the wall clock: use workflow time or ask an activity' },
        { object: 'Math', property: 'random', message: 'randomness: use uuid4() from @temporalio/workflow' },
        { object: 'process', property: 'env', message: 'the environment: pass settings in the workflow input' },
      ],
      'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'the wall clock: use workflow time or ask an activity' }],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: "timers: use Temporal's sleep or condition" },
        { name: 'setInterval', message: "timers: use Temporal's sleep or condition" },
      ],
    },
  },
);
