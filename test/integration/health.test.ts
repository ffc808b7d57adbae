import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/api/app';
import { secretBoxFrom } from '../../src/config';
import { silentLogger } from '../../src/log';
import { createTemporalClient } from '../../src/temporal/client';
import { freePort } from '../../src/dev/dev-server';
import { request, Stack, startStack } from '../helpers/stack';

/**
 * The api's probes, as an orchestrator sees them: /livez while the process answers, /readyz while
 * it can turn webhooks into Temporal signals (PostgreSQL reported, not required) and is not
 * shutting down.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({}, { worker: false });
});
afterAll(() => stack?.stop());

/** The api on deps of the test's choosing, for as long as `fn` runs. */
async function withApp(deps: { temporal?: ReturnType<typeof createTemporalClient> }, fn: (url: string, app: ReturnType<typeof createApp>) => Promise<void>) {
  const app = createApp({ db: stack.db, secrets: secretBoxFrom(stack.config), temporal: deps.temporal ?? stack.temporal, signaller: {} as any, config: stack.config, log: silentLogger });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, app);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

test('/livez answers; /readyz is ready with Temporal and PostgreSQL answering, and says how each did', async () => {
  expect(await request(stack.url, 'GET', '/livez')).toMatchObject({ status: 200, body: { status: 'ok' } });
  const ready = await request(stack.url, 'GET', '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body).toMatchObject({ status: 'ready', checks: { temporal: { ok: true, ms: expect.any(Number) }, postgres: { ok: true } } });
});

test('/readyz is 503 when Temporal does not answer, with the reason; /livez still answers', async () => {
  const unreachable = createTemporalClient({ connection: { address: `127.0.0.1:${await freePort()}` }, namespace: 'default', secrets: secretBoxFrom(stack.config) });
  await withApp({ temporal: unreachable }, async (url) => {
    const r = await request(url, 'GET', '/readyz');
    expect(r.status).toBe(503);
    // Without the error's words (internal addresses): those go to the api's log.
    expect(r.body).toEqual({ status: 'not_ready', checks: { temporal: { ok: false, ms: expect.any(Number) }, postgres: { ok: true, ms: expect.any(Number) } } });
    expect((await request(url, 'GET', '/livez')).status).toBe(200);
  });
});

test('once the api is shutting down /readyz is 503, so a load balancer stops sending it requests', async () => {
  await withApp({}, async (url, app) => {
    expect((await request(url, 'GET', '/readyz')).status).toBe(200);
    app.shutdown();
    expect(await request(url, 'GET', '/readyz')).toMatchObject({ status: 503, body: { status: 'shutting_down' } });
  });
});

test("every request has an id: the caller's X-Request-Id when it is a sane token, else a new one; answered, and on the request's log lines", async () => {
  const given = await fetch(`${stack.url}/livez`, { headers: { 'x-request-id': 'lb-7f3a:01' } });
  expect(given.headers.get('x-request-id')).toBe('lb-7f3a:01');
  const odd = await fetch(`${stack.url}/livez`, { headers: { 'x-request-id': 'no spaces <allowed>' } });
  expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const lines = stack.log.lines.map((l) => JSON.parse(l));
  expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', request_id: 'lb-7f3a:01', path: '/livez', status: 200 }));
  expect(lines).toContainEqual(expect.objectContaining({ msg: 'request', request_id: odd.headers.get('x-request-id') }));
});
