import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { configSchema } from '../../src/config';

/**
 * docker-compose.yml, checked by reading (no Docker engine where the tests run): PingBack's
 * services set only variables PingBack reads, every long-running service restarts and has a
 * health check, only the api is published beyond this machine, and every setting compose takes
 * from .env is in the committed .env.example.
 */
const root = path.resolve(__dirname, '../..');
const text = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const compose = parse(text, { merge: true }) as { services: Record<string, any> };
const PINGBACK = ['migrate', 'search-attributes', 'api', 'worker'];
const ONE_SHOT = ['temporal-schema', 'temporal-namespace', 'migrate', 'search-attributes'];

test("PingBack's services set only variables PingBack reads", () => {
  const known = new Set(Object.keys(configSchema.shape));
  for (const name of PINGBACK) {
    const unknown = Object.keys(compose.services[name].environment ?? {}).filter((k) => !known.has(k));
    expect([name, unknown]).toEqual([name, []]);
  }
});

test('long-running services restart and have a health check; one-shot ones retry a few times', () => {
  for (const [name, svc] of Object.entries(compose.services)) {
    if (ONE_SHOT.includes(name)) expect([name, svc.restart]).toEqual([name, expect.stringMatching(/^on-failure/)]);
    else expect([name, svc.restart, Boolean(svc.healthcheck?.test)]).toEqual([name, 'unless-stopped', true]);
  }
});

test("only the api's port is published beyond this machine", () => {
  const open = Object.entries(compose.services).flatMap(([name, svc]) => (svc.ports ?? []).filter((p: string) => !p.startsWith('127.0.0.1:')).map((p: string) => `${name} ${p}`));
  expect(open).toEqual(['api ${PINGBACK_PORT:-3000}:3000']);
});

test('every setting compose takes from the environment is in .env.example', () => {
  const example = new Set(fs.readFileSync(path.join(root, '.env.example'), 'utf8').split('\n').flatMap((l) => /^([A-Z_]+)=/.exec(l)?.[1] ?? []));
  const used = new Set([...text.matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1]));
  expect([...used].filter((v) => !example.has(v))).toEqual([]);
});
