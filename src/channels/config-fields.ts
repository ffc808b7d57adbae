import { z } from 'zod';

/** Field builders shared by the channel config schemas, so every type words its errors alike. */

/** Trimmed, non-empty, at most `max` characters. */
export const text = (max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

/** Tokens and secrets have no spaces; a space usually means "Bearer " or a second value came along. */
export const credential = (max: number) =>
  text(max).regex(/^\S+$/, 'must be the value alone, without spaces or a "Bearer " prefix');

/** How often a channel that polls its platform (X DMs, an IMAP mailbox) asks it for new messages. */
export const pollIntervalSeconds = () =>
  z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(3600, 'must be at most 3600 seconds (one hour)')
    .default(60);
