import type { Context } from 'koa';
import { z } from 'zod';
import type { StoredMediaInfo } from '../db/stored-media';
import { AppError } from '../errors';
import { widgetClientId } from '../channels/webchat/fields';
import { readRawBody } from './body';

/** How a file is posted to PingBack (a web chat visitor's, an agent's): the bytes as the body, named in the query. */
export const uploadQuery = z
  .object({
    /** The uploader's id for the file: the same id again answers with the first upload. */
    id: widgetClientId.optional(),
    /** The file's name as the uploader's device had it. */
    name: z
      .string()
      .trim()
      .min(1)
      .max(255, 'must be at most 255 characters')
      // A name is shown and offered for download, never used as a path.
      .refine((n) => !/[\/\\\u0000-\u001f\u007f]/.test(n), 'must not contain slashes or control characters')
      .optional(),
  })
  .strict();

/** The file's MIME type (415 without a valid one: it decides how the file is shown and served) and bytes (413 past `maxBytes`, 400 empty). */
export async function readUpload(ctx: Context, maxBytes: number): Promise<{ contentType: string; bytes: Buffer }> {
  const contentType = ctx.get('content-type').split(';')[0].trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/.test(contentType)) {
    throw new AppError(415, 'unsupported_media_type', 'send the file as the request body with its MIME type as Content-Type (image/png, application/pdf …)');
  }
  const bytes = await readRawBody(ctx, maxBytes);
  if (bytes.length === 0) throw new AppError(400, 'empty_attachment', 'the file is empty');
  return { contentType, bytes };
}

/** An upload as the API answers it (POST /api/conversations/{id}/attachments, /widget/{channelId}/attachments), and a widget message's files. */
export const uploadedFileSchema = z.object({
  /** What a message's or a reply's `attachments` names it by. */
  id: z.uuid(),
  file_name: z.string().nullable(),
  content_type: z.string(),
  /** Bytes. */
  size: z.number().int(),
});
export type UploadedFile = z.infer<typeof uploadedFileSchema>;

export function uploadView(info: StoredMediaInfo): UploadedFile {
  return { id: info.id, file_name: info.file_name, content_type: info.content_type, size: info.size };
}
