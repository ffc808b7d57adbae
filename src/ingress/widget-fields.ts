import { z } from 'zod';

/** An id the widget gives a message or a file, so that sending it again (a retry after a timeout) stores it once. */
export const widgetClientId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'must be letters, digits and _ . : - only');

/** Files one widget message may carry (the widget script is told too). */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
