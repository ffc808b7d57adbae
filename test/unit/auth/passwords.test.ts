import { hashPassword, verifyPassword } from '../../../src/auth/passwords';

test('passwords are hashed with argon2id at OWASP strength, each with a salt of its own', async () => {
  const a = await hashPassword('correct horse battery');
  const b = await hashPassword('correct horse battery');
  expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  expect(a).not.toBe(b);
  expect(await verifyPassword(a, 'correct horse battery')).toBe(true);
  expect(await verifyPassword(a, 'correct horse batterY')).toBe(false);
  expect(await verifyPassword('not a hash', 'anything')).toBe(false);
});

/**
 * Sign-in checks a password whether or not the email belongs to anyone, so a refusal does not
 * tell an attacker which emails exist. Measured in-process, where the hash check is the whole
 * cost: without the decoy check, "no such user" would answer in microseconds.
 */
test('checking a password for nobody costs what checking a real one costs', async () => {
  const real = await hashPassword('a real password');
  await verifyPassword(null, 'warm up');
  const time = async (stored: string | null) => {
    const started = performance.now();
    await verifyPassword(stored, 'a wrong password');
    return performance.now() - started;
  };
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const withUser: number[] = [];
  const withoutUser: number[] = [];
  for (let i = 0; i < 5; i++) {
    withUser.push(await time(real));
    withoutUser.push(await time(null));
  }
  expect(median(withoutUser)).toBeGreaterThan(median(withUser) / 3);
});
