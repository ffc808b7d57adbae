import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe: session cookies, invitation and reset links, CSRF tokens. */
export const newToken = (): string => randomBytes(32).toString('base64url');

/** Only this is stored: a copy of the table signs nobody in and redeems no link. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
