import { z } from 'zod';
import { AppError } from '../../errors';
import { callGraph } from '../meta/graph-api';
import type { AdapterContext } from '../types';
import type { WhatsappConfig } from './config';

/**
 * WhatsApp message templates: the only messages a business may send once 24 hours have passed
 * since the customer last wrote. They are written and approved in WhatsApp Manager; PingBack
 * lists the approved ones (GET /{waba-id}/message_templates) and sends one with its
 * parameters filled in (developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates).
 */

/** A template as Graph lists it (the fields PingBack asks for). */
interface GraphTemplate {
  name: string;
  language: string;
  status: string;
  category?: string;
  components?: Array<{ type: string; format?: string; text?: string }>;
}

/** What agents pick from (GET /api/channels/{id}/templates): an approved template, its text, and how many parameters each part takes. */
export const templateInfoSchema = z.object({
  name: z.string(),
  language: z.string(),
  /** Meta's: MARKETING, UTILITY, AUTHENTICATION. */
  category: z.string().nullable(),
  /** The header's text with its {{1}} placeholders; null for none or a media header. */
  header: z.string().nullable(),
  body: z.string(),
  parameters: z.object({ header: z.number().int(), body: z.number().int() }),
});
export type TemplateInfo = z.infer<typeof templateInfoSchema>;

// Meta refuses a parameter with a new line, a tab or more than four spaces in a row (error 132018).
const textParameter = z
  .object({
    type: z.literal('text'),
    text: z.string().trim().min(1, 'must not be empty').max(1024).refine((t) => !/[\n\t]| {5,}/.test(t), 'must be on one line, without tabs or more than four spaces in a row'),
  })
  .strict();

/** A template reply, as agents send it: Meta's own shape, text parameters only. */
export const templateSendSchema = z
  .object({
    name: z.string().trim().min(1).max(512),
    language: z.string().trim().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code such as en or en_US'),
    components: z
      .array(z.object({ type: z.enum(['header', 'body']), parameters: z.array(textParameter).max(20) }).strict())
      .max(2)
      .refine((cs) => new Set(cs.map((c) => c.type)).size === cs.length, 'has one header and one body at most')
      .default([]),
  })
  .strict();
export type TemplateSend = z.infer<typeof templateSendSchema>;

/** `{{1}}` … `{{n}}` in a part's text: how many parameters it takes. */
const placeholders = (text: string | undefined) => new Set([...(text ?? '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)].map((m) => m[1])).size;

function infoOf(t: GraphTemplate): TemplateInfo {
  const header = t.components?.find((c) => c.type === 'HEADER' && (c.format ?? 'TEXT') === 'TEXT');
  const body = t.components?.find((c) => c.type === 'BODY');
  return {
    name: t.name,
    language: t.language,
    category: t.category ?? null,
    header: header?.text ?? null,
    body: body?.text ?? '',
    parameters: { header: placeholders(header?.text), body: placeholders(body?.text) },
  };
}

/** The account's approved templates (first 250), from Graph. */
export async function listTemplates(cfg: WhatsappConfig, ctx: AdapterContext): Promise<TemplateInfo[]> {
  if (!cfg.business_account_id) {
    throw new AppError(422, 'business_account_id_required', "templates belong to the WhatsApp Business Account: add its ID (business_account_id) to the channel's settings");
  }
  const page = await callGraph<{ data?: GraphTemplate[] }>(ctx, cfg.access_token, 'GET', `${cfg.business_account_id}/message_templates?fields=name,language,status,category,components&limit=250`);
  return (page.data ?? []).filter((t) => t.status === 'APPROVED').map(infoOf);
}

/**
 * The template an agent named, with its parameters checked against it (422 naming what is
 * wrong), and the text the customer will read, for the timeline.
 */
export function renderTemplate(templates: TemplateInfo[], send: TemplateSend): string {
  const t = templates.find((x) => x.name === send.name && x.language === send.language);
  if (!t) {
    const languages = templates.filter((x) => x.name === send.name).map((x) => x.language);
    const why = languages.length ? `has no approved ${send.language} version (approved: ${languages.join(', ')})` : 'is not an approved template of this WhatsApp Business Account';
    throw new AppError(422, 'template_not_found', `template ${send.name} ${why}`, { fields: [{ path: 'template.name', message: why }] });
  }
  const given = (part: 'header' | 'body') => send.components.find((c) => c.type === part)?.parameters.map((p) => p.text) ?? [];
  for (const part of ['header', 'body'] as const) {
    if (given(part).length !== t.parameters[part]) {
      const message = `takes ${t.parameters[part]} parameter${t.parameters[part] === 1 ? '' : 's'}, ${given(part).length} given`;
      throw new AppError(422, 'template_parameters', `template ${t.name}'s ${part} ${message}`, { fields: [{ path: `template.components.${part}`, message }] });
    }
  }
  const fill = (text: string, values: string[]) => text.replace(/\{\{\s*(\d+)\s*\}\}/g, (m, n: string) => values[Number(n) - 1] ?? m);
  return [t.header ? fill(t.header, given('header')) : null, fill(t.body, given('body'))].filter(Boolean).join('\n\n');
}

/** The send body's `template` object, as Graph takes it. */
export const graphTemplate = (send: TemplateSend) => ({
  name: send.name,
  language: { code: send.language },
  ...(send.components.length ? { components: send.components } : {}),
});
