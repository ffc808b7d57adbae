import { onFreePort } from '../../src/dev/dev-server';

test('a server that exits before it is ready is started again (on the new port its start picks), up to three times', async () => {
  const ports: number[] = [];
  const start = async () => {
    ports.push(33097 + ports.length);
    if (ports.length < 3) throw new Error('temporal dev server exited with code 2 before it was ready');
    return ports.at(-1);
  };
  await expect(onFreePort(start)).resolves.toBe(33099);
  expect(ports).toEqual([33097, 33098, 33099]);

  let calls = 0;
  const alwaysClashes = async () => {
    calls++;
    throw new Error('temporal dev server exited with code 2 before it was ready');
  };
  await expect(onFreePort(alwaysClashes)).rejects.toThrow('exited with code 2');
  expect(calls).toBe(3);
});

test('any other failure is not retried', async () => {
  let calls = 0;
  await expect(
    onFreePort(async () => {
      calls++;
      throw new Error('no Temporal CLI');
    }),
  ).rejects.toThrow('no Temporal CLI');
  expect(calls).toBe(1);
});
