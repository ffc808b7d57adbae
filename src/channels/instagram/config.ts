import { z } from 'zod';
import { credential, text } from '../config-fields';

export const instagramConfigSchema = z
  .object({
    /** Page access token with the Instagram messaging permissions. */
    access_token: credential(2048),
    /** The Facebook Page linked to the Instagram professional account; sends go to `/<PAGE_ID>/messages`. */
    page_id: text(32).regex(/^\d+$/, 'must be digits only: the ID of the Facebook Page linked to your Instagram account'),
    /** Verifies `X-Hub-Signature-256` on every webhook. */
    app_secret: credential(256),
    /**
     * The Instagram professional account ID (17841…). Webhooks name the account in `entry[].id`,
     * which is this id, not the Page's; entries for any other account are ignored. Without it only
     * entries whose id equals `page_id` are accepted (Instagram Login setups, where the two are one).
     */
    instagram_account_id: text(32).regex(/^\d+$/, 'must be digits only: the Instagram professional account ID').optional(),
  })
  .strict();
export type InstagramConfig = z.infer<typeof instagramConfigSchema>;

export const INSTAGRAM_SECRET_FIELDS: readonly string[] = ['access_token', 'app_secret'];
