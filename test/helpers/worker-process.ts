import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { Config } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');

/** `pingback worker` as its own OS process, so a test can SIGKILL it like a crashed host. */
export async function spawnWorker(config: Config, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  return spawnPingback('worker', 'worker polling', config, extraEnv);
}

/** `pingback api` as its own OS process (set PORT in `extraEnv`): a second api beside a test's own. */
export async function spawnApi(config: Config, extraEnv: Record<string, string>): Promise<ChildProcess> {
  return spawnPingback('api', 'api listening', config, extraEnv);
}

async function spawnPingback(command: 'api' | 'worker', readyLine: string, config: Config, extraEnv: Record<string, string>): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(config)) if (v !== undefined) env[k] = String(v);
  // The ready line is logged at info.
  Object.assign(env, { LOG_LEVEL: 'info' }, extraEnv);
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli.ts'), command], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes(readyLine)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited (${code}) before "${readyLine}":\n${output}`)));
  });
  await ready;
  return child;
}

export function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
