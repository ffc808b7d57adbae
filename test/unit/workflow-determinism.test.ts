import fs from 'node:fs';
import path from 'node:path';

/**
 * Workflow code must replay identically: no I/O, clocks, randomness or timers of
 * its own (Temporal's sleep and condition are the deterministic ones). This is the
 * lint rule STYLE.md asks for, as a test, so a slip fails CI before the replayer.
 */
const WORKFLOWS = path.resolve(__dirname, '../../workflows');
const FORBIDDEN: Array<[RegExp, string]> = [
  [/from ['"](node:|fs|path|os|http|https|net|child_process|crypto|pg|knex|koa)['"/]/, 'a Node built-in or an I/O library'],
  [/import (?!type)[^;]*from ['"]\.\.\/(activities|src\/(db|api|ingress|channels\/(?!types)|sandbox|dev))/, 'runtime code from outside workflows (type imports only)'],
  [/\bDate\.now\(|new Date\(/, 'the wall clock (use workflow time or ask an activity)'],
  [/\bMath\.random\(/, 'randomness'],
  [/\bsetTimeout\(|\bsetInterval\(/, "timers (use Temporal's sleep)"],
  [/\bprocess\.env\b/, 'the environment'],
];

test.each(fs.readdirSync(WORKFLOWS).filter((f) => f.endsWith('.ts')))('workflows/%s uses nothing nondeterministic', (file) => {
  const source = fs.readFileSync(path.join(WORKFLOWS, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const found = FORBIDDEN.filter(([re]) => re.test(source)).map(([, what]) => what);
  expect(found).toEqual([]);
});
