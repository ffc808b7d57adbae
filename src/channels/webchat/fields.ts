import { z } from 'zod';

/** An id the widget gives a message or a file, so that sending it again (a retry after a timeout) stores it once. */
export const widgetClientId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits and _ . : - only');

/** Files one message may carry, a visitor's or an agent's reply (the widget script is told too). */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;

/** The uploads a message names, in the order shown. */
export const attachedFileIds = z
  .array(z.uuid('must be an upload id'))
  .max(MAX_ATTACHMENTS_PER_MESSAGE, `must be at most ${MAX_ATTACHMENTS_PER_MESSAGE}`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not name an upload twice')
  .default([]);
