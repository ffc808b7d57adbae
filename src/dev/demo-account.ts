import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../auth/passwords';
import { createAccount } from '../db/accounts';
import type { Db } from '../db/knex';

const DEMO_EMAIL = 'admin@demo.pingback.test';

/**
 * `npm start`'s first sign-in: a Pro account "Demo" with an admin whose generated password is
 * kept in data/demo-login, made once (again if the database was emptied since).
 */
export async function ensureDemoAccount(db: Db, dataDir: string, publicBaseUrl: string): Promise<{ email: string; password: string; file: string; created: boolean }> {
  const file = path.join(dataDir, 'demo-login');
  const kept = fs.existsSync(file) ? parseLogin(fs.readFileSync(file, 'utf8')) : undefined;
  if (kept && (await db('users').whereRaw('lower(email) = ?', [kept.email]).first('id'))) return { ...kept, file, created: false };
  const login = { email: kept?.email ?? DEMO_EMAIL, password: randomBytes(12).toString('base64url') };
  const { admin } = await createAccount(db, { name: 'Demo', plan: 'pro', admin: { email: login.email, name: 'Demo admin' } }, publicBaseUrl);
  await db('users').where({ id: admin!.user.id }).update({ password_hash: await hashPassword(login.password) });
  fs.writeFileSync(file, `email: ${login.email}\npassword: ${login.password}\n`, { mode: 0o600 });
  return { ...login, file, created: true };
}

function parseLogin(text: string): { email: string; password: string } | undefined {
  const email = /^email: (.+)$/m.exec(text)?.[1]?.trim();
  const password = /^password: (.+)$/m.exec(text)?.[1]?.trim();
  return email && password ? { email, password } : undefined;
}
