import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The Temporal CLI (dev server + Web UI) is a 250 MB Go binary. It is looked for
 * on PATH and in a cache outside the checkout, and built there once from the Go
 * module proxy when missing (about 3 minutes). v1.5.1 is the last tag that
 * `go install` accepts: later ones carry a replace directive.
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export function cacheDir(): string {
  return process.env.PINGBACK_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'pingback');
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    if (dir && fs.existsSync(p)) return p;
  }
  return undefined;
}

export function findTemporalCli(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (!fs.existsSync(explicit)) throw new Error(`TEMPORAL_CLI_PATH points at ${explicit}, which does not exist`);
    return explicit;
  }
  const cached = path.join(cacheDir(), 'bin', 'temporal');
  if (fs.existsSync(cached)) return cached;
  return onPath('temporal');
}

/** Finds the CLI or builds it with Go; undefined when neither is possible. */
export async function ensureTemporalCli(log: (line: string) => void = console.error): Promise<string | undefined> {
  const found = findTemporalCli();
  if (found) return found;
  const go = onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) return undefined;
  const bin = path.join(cacheDir(), 'bin');
  fs.mkdirSync(bin, { recursive: true });
  log(`Building the Temporal CLI once (${TEMPORAL_CLI_MODULE}) into ${bin}; this takes a few minutes…`);
  const code = await new Promise<number>((resolve) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: bin, GOFLAGS: '-buildvcs=false' },
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${code})`);
  return path.join(bin, 'temporal');
}

export function temporalCliVersion(cli: string): string {
  return spawnSync(cli, ['--version'], { encoding: 'utf8' }).stdout.trim();
}
