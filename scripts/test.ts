/**
 * `npm test`: every suite, one after another, and one count at the end.
 *   eslint      npm run lint: no floating promises, nothing nondeterministic in workflows/ (one count per file)
 *   jest        unit, workflow, integration and fault tests (real PostgreSQL and Temporal)
 *   vitest      the dashboard's components, in jsdom
 *   playwright  the dashboard end to end, in Chromium, against a real PingBack
 * Each writes its JSON report into test-results/; this sums them into test-results/summary.json.
 * A suite whose report is missing (it crashed before writing one) counts as one failure.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const results = path.join(ROOT, 'test-results');
fs.mkdirSync(results, { recursive: true });

interface Suite {
  name: string;
  report: string;
  command: string[];
  count(report: any): { passed: number; failed: number };
}

const jestLike = (r: any) => ({ passed: r.numPassedTests, failed: r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0) });
const SUITES: Suite[] = [
  {
    name: 'eslint',
    report: 'eslint.json',
    command: ['npx', 'eslint', '--max-warnings', '0', '--format', 'json', '--output-file', path.join(results, 'eslint.json'), '.'],
    count: (r: Array<{ errorCount: number; warningCount: number; filePath: string; messages: Array<{ line: number; message: string; ruleId: string | null }> }>) => {
      const failing = r.filter((f) => f.errorCount + f.warningCount > 0);
      // The JSON report goes to a file; say here what failed, as the other suites do.
      for (const f of failing) for (const m of f.messages) console.error(`[eslint] ${path.relative(ROOT, f.filePath)}:${m.line} ${m.message} (${m.ruleId ?? 'parse'})`);
      return { passed: r.length - failing.length, failed: failing.length };
    },
  },
  { name: 'jest', report: 'jest.json', command: ['npx', 'jest', '--json', `--outputFile=${path.join(results, 'jest.json')}`], count: jestLike },
  {
    name: 'vitest',
    report: 'vitest.json',
    command: ['npx', 'vitest', 'run', '--config', 'web/vite.config.mts', '--reporter=default', '--reporter=json', `--outputFile.json=${path.join(results, 'vitest.json')}`],
    count: jestLike,
  },
  {
    name: 'playwright',
    report: 'playwright.json',
    command: ['npx', 'playwright', 'test'],
    count: (r) => ({ passed: r.stats.expected + r.stats.flaky, failed: r.stats.unexpected }),
  },
];

let passed = 0;
let failed = 0;
const lines: string[] = [];
for (const suite of SUITES) {
  const report = path.join(results, suite.report);
  fs.rmSync(report, { force: true });
  const run = spawnSync(suite.command[0], suite.command.slice(1), { cwd: ROOT, stdio: 'inherit' });
  let counts = { passed: 0, failed: 1 };
  try {
    counts = suite.count(JSON.parse(fs.readFileSync(report, 'utf8')));
  } catch {
    console.error(`[test] ${suite.name} wrote no report (exit ${run.status}): counted as one failure`);
  }
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  passed += counts.passed;
  failed += counts.failed;
  lines.push(`${suite.name}: ${counts.passed} passed, ${counts.failed} failed`);
}
fs.writeFileSync(path.join(results, 'summary.json'), JSON.stringify({ passed, failed }));
for (const line of lines) console.log(`[test] ${line}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
