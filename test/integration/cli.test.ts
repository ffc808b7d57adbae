import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { request, Stack, startStack } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

/** The `pingback` command as an operator runs it (through tsx, so no build is needed). */
function pingback(args: string[], env: Record<string, string | undefined>) {
  const clean = { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv;
  return run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, env: clean }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  );
}

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

test('account create --json prints an account id and a working API key; set-plan changes the plan', async () => {
  const created = await pingback(['account', 'create', '--name', 'Acme CLI', '--plan', 'mini', '--json'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(created.code).toBe(0);
  const { account_id, api_key } = JSON.parse(created.stdout);
  const me = await request(stack.url, 'GET', '/api/account', { token: api_key });
  expect(me.body).toMatchObject({ id: account_id, plan: 'mini', name: 'Acme CLI' });

  const changed = await pingback(['account', 'set-plan', '--id', account_id, '--plan', 'pro'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(changed.stdout.trim()).toBe(`account ${account_id} is now on pro`);
  expect((await request(stack.url, 'GET', '/api/account', { token: api_key })).body.plan).toBe('pro');
});

test('a missing or bad variable stops a process with one line naming it', async () => {
  const missing = await pingback(['api'], {});
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim()).toBe('pingback: DATABASE_URL is required');
  const bad = await pingback(['worker'], { DATABASE_URL: process.env.TEST_DATABASE_URL, WORKER_MAX_CACHED_WORKFLOWS: 'lots' });
  expect(bad.code).toBe(1);
  expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  expect(bad.stderr).toMatch(/^pingback: WORKER_MAX_CACHED_WORKFLOWS /);
  const nokey = await pingback(['api'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(nokey.stderr.trim()).toMatch(/^pingback: PINGBACK_ENCRYPTION_KEY is required/);
});

test('bad arguments are refused with a usable message', async () => {
  const r = await pingback(['account', 'create', '--plan', 'gold', '--name', 'x'], { DATABASE_URL: process.env.TEST_DATABASE_URL });
  expect(r.code).toBe(1);
  expect(r.stderr.trim()).toBe('pingback: --plan must be one of free, mini, pro');
});

test('search-attributes registers what a fresh namespace lacks, and is safe to run again', async () => {
  const { spawn } = await import('node:child_process');
  const { canConnect, freePort, stopChild } = await import('../../src/dev/dev-server');
  const port = await freePort();
  // A bare dev server, without the attributes `pingback start` would give it.
  const server = spawn(process.env.TEMPORAL_CLI_PATH!, ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'], {
    stdio: 'ignore',
  });
  try {
    while (!(await canConnect('127.0.0.1', port))) await new Promise((r) => setTimeout(r, 200));
    const env = { DATABASE_URL: process.env.TEST_DATABASE_URL, TEMPORAL_ADDRESS: `127.0.0.1:${port}` };
    const first = await pingback(['search-attributes'], env);
    expect(first.stdout.trim()).toBe('registered: ChannelType, ChannelId, AccountId, ConversationStatus');
    const again = await pingback(['search-attributes'], env);
    expect(again.stdout.trim()).toBe('search attributes already registered');
  } finally {
    await stopChild(server);
  }
});

test('--version prints the package version; help COMMAND (or COMMAND --help) tells what one command does, its options and variables', async () => {
  const { configSchema } = await import('../../src/config');
  const pkg = JSON.parse(await import('node:fs').then((fs) => fs.promises.readFile(path.join(ROOT, 'package.json'), 'utf8')));
  const version = await pingback(['--version'], {});
  expect([version.code, version.stdout]).toEqual([0, `pingback ${pkg.version}\n`]);

  const usage = await pingback(['help'], {});
  expect(usage.stdout).toContain('help [COMMAND]');
  const commands = ['start', 'api', 'worker', 'migrate', 'search-attributes', 'account', 'keys', 'sandbox', 'help'];
  const known = Object.keys(configSchema.shape);
  // Variables only `start` and `sandbox` read, outside the processes' configuration.
  const extra = ['TEMPORAL_DEV_PORT', 'TEMPORAL_UI_PORT', 'PINGBACK_DATA_DIR', 'SANDBOX_TELEGRAM_PORT', 'SANDBOX_META_PORT', 'SANDBOX_X_PORT'];
  const helps = new Map<string, string>();
  for (const command of commands) {
    const r = await pingback(['help', command], {});
    helps.set(command, r.stdout);
    expect([command, r.code, r.stderr]).toEqual([command, 0, '']);
    expect(r.stdout.startsWith(`pingback ${command}`)).toBe(true);
    // Every variable a help lists is one PingBack reads (a prefix* names at least one).
    expect([command, command === 'help' || /\nVariables[^\n]*:\n/.test(r.stdout)]).toEqual([command, true]);
    for (const name of r.stdout.split(/\nVariables[^\n]*:\n/)[1]?.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*\*?/g) ?? []) {
      const ok = name.endsWith('*') ? known.some((k) => k.startsWith(name.slice(0, -1))) : known.includes(name) || extra.includes(name);
      expect([command, name, ok]).toEqual([command, name, true]);
    }
  }
  expect(helps.get('account')).toMatch(/--admin-email[\s\S]*set-plan --id ACCOUNT_ID/);
  // --help on a command shows its help and runs nothing (no DATABASE_URL here: `api` itself would stop).
  const apiHelp = await pingback(['api', '--help'], {});
  expect([apiHelp.code, apiHelp.stderr, apiHelp.stdout]).toEqual([0, '', helps.get('api')]);
  expect(apiHelp.stdout).toContain('PINGBACK_ENCRYPTION_KEY');
  const unknown = await pingback(['help', 'frobnicate'], {});
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/^unknown command "frobnicate"/);
});
