import type { z } from 'zod';
import { AppError } from '../errors';

/** Parses outside input; a failure names every bad field's path (422, nothing stored). */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what = 'request body'): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
  throw new AppError(422, 'validation_failed', `${what} is invalid: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`, {
    fields,
  });
}
