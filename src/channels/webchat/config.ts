import { z } from 'zod';
import { text } from '../config-fields';


const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/**
 * `example.com`, `localhost` (for trying the widget locally) or `*.example.com`.
 * A wildcard needs at least two labels after it: `*.com` would let any site embed the widget.
 */
const ALLOWED_DOMAIN = new RegExp(`^(?:\\*\\.${LABEL}(?:\\.${LABEL})+|${LABEL}(?:\\.${LABEL})*)$`);

const allowedDomain = text(253)
  .toLowerCase()
  .regex(ALLOWED_DOMAIN, 'must be a host name like example.com or *.example.com, without https://, a port or a path');

/** The chat widget needs no platform credentials; these are its settings. */
export const webchatConfigSchema = z
  .object({
    /** Sites allowed to embed the widget. Empty: any site. */
    allowed_domains: z
      .array(allowedDomain, { error: 'must be a list of host names, e.g. ["example.com", "*.example.com"]' })
      .max(100, 'must list at most 100 domains')
      .default([]),
    welcome_message: text(500).optional(),
    brand_color: text(7)
      .toLowerCase()
      .regex(/^#[0-9a-f]{6}$/, 'must be a colour like #1a2b3c')
      .optional(),
    // https only: the widget runs on https pages, which would block an http image as mixed content.
    logo_url: text(2048)
      .pipe(z.url({ protocol: /^https$/, error: 'must be an https:// address of an image' }))
      .optional(),
  })
  .strict();
export type WebchatConfig = z.infer<typeof webchatConfigSchema>;

export const WEBCHAT_SECRET_FIELDS: readonly string[] = [];
