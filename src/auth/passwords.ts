import { Algorithm, hash, verify } from '@node-rs/argon2';
import { z } from 'zod';

/**
 * argon2id with OWASP's first recommended setting (19 MiB, 2 passes, 1 lane):
 * https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id
 * The parameters travel in the PHC string, so raising them later still verifies old hashes.
 */
const PARAMS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 10;
export const passwordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  // argon2 takes any length; a bound keeps one request from costing the server a megabyte of hashing input.
  .max(1024, 'must be at most 1024 characters');

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

/**
 * Verified against a real hash even when there is no user (or no password yet), so an
 * unknown email takes as long to refuse as a wrong password.
 */
let decoy: Promise<string> | undefined;
export async function verifyPassword(storedHash: string | null | undefined, password: string): Promise<boolean> {
  if (!storedHash) {
    await verify(await (decoy ??= hashPassword('not a password of anyone')), password).catch(() => false);
    return false;
  }
  return verify(storedHash, password).catch(() => false);
}
