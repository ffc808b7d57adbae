import { z } from 'zod';
import { credential, text } from '../config-fields';

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
