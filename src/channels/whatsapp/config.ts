import { z } from 'zod';

/** Trimmed, non-empty, at most `max` characters. */
const text = (max: number) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`);

/** Tokens and secrets have no spaces; a space usually means "Bearer " or a second value came along. */
const credential = (max: number) => text(max).regex(/^\S+$/, 'must be the value alone, without spaces or a "Bearer " prefix');

const digits = (what: string) => text(32).regex(/^\d+$/, `must be digits only: ${what}`);

export const whatsappConfigSchema = z
  .object({
    /** System-user or temporary token; sent as `Authorization: Bearer …` to the Cloud API. */
    access_token: credential(2048),
    /** Addresses the send endpoint, `/<PHONE_NUMBER_ID>/messages`, and routes webhooks (`metadata.phone_number_id`). */
    phone_number_id: digits('the Phone number ID from WhatsApp Manager → API Setup, not the phone number'),
    /** Verifies `X-Hub-Signature-256` on every webhook. */
    app_secret: credential(256),
    business_account_id: digits('the WhatsApp Business Account ID from WhatsApp Manager → API Setup').optional(),
  })
  .strict();
export type WhatsappConfig = z.infer<typeof whatsappConfigSchema>;

export const WHATSAPP_SECRET_FIELDS: readonly string[] = ['access_token', 'app_secret'];
