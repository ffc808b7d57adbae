import { z } from 'zod';
import { createAccountSchema, createApiKeySchema, createdAccountSchema, updateAccountSchema } from './admin';
import { channelHealthSchema, updateChannelSchema } from './channels';
import { agentPaths, agentSchemas } from './openapi-agents';
import { errorBody, idParam, json, list, ok, output, queryParams, ref } from './openapi-helpers';
import { channelSummarySchema } from '../inbox/schemas';
import { adapterFor, webhookChannels } from '../channels';
import { templateInfoSchema } from '../channels/whatsapp/templates';
import { accountSchema, apiKeySchema, issuedApiKeySchema } from '../db/accounts';
import { webhookSetAsideSchema } from '../inbound/webhooks';
import { codecPayloadsSchema } from '../http/codec';
import { healthzSchema, livenessSchema, readinessSchema } from '../http/health';
import { widgetMessageAcceptedSchema, widgetMessageSchema, widgetMessagesQuery, widgetMessagesSchema, widgetSettingsSchema, widgetVisitorSchema } from '../widget/routes';
import { uploadedFileSchema, uploadQuery } from '../http/upload';
import { MAX_ATTACHMENTS_PER_MESSAGE } from '../channels/webchat/fields';
import { CLAIMED_TTL_DAYS, MAX_UNLINKED_UPLOADS, UNLINKED_TTL_HOURS } from '../db/stored-media';
import { CHANNEL_TYPES, type ChannelType, type WebhookOperationDocs } from '../channels/types';

const configSchemaName = (t: ChannelType) => `${t[0].toUpperCase()}${t.slice(1)}Config`;
/** POST /api/channels: the config's shape depends on `type`. */
const createChannelBody = {
  'application/json': {
    schema: {
      oneOf: CHANNEL_TYPES.map((t) => ({
        type: 'object',
        required: ['type', 'config'],
        properties: { type: { const: t }, name: { type: 'string', maxLength: 200 }, config: { $ref: `#/components/schemas/${configSchemaName(t)}` } },
      })),
      discriminator: { propertyName: 'type' },
    },
  },
};
const channelIdParam = { ...idParam, name: 'channelId' };

/** A channel as admins (and API keys) see it (src/api/channels.ts): the summary agents see, and how to connect it. */
const channelSchema = channelSummarySchema.extend({
  config: z.record(z.string(), z.unknown()).describe("The channel type's config (see its *Config schema), every secret masked"),
  setup: z.enum(['api', 'console', 'none']).describe('api: PingBack registers with the platform; console: paste callback_url and verify_token into its settings; none'),
  callback_url: z.string().describe("Where the platform delivers the channel's webhooks"),
  verify_token: z.string(),
  created_at: z.string().describe('ISO 8601 time'),
});
/** What GET /api/channels… answers: the whole channel to admins, its summary to agents. */
const channelForRole = { anyOf: [ref('Channel'), ref('ChannelSummary')] };

/** The OpenAPI description, derived from the same zod schemas the routes validate with. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: { title: 'PingBack API', version: '0.1.0', description: 'Unified support inbox: channels, conversations, replies.' },
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An account API key (pb_…): acts for the account as an admin does' },
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'pingback_session',
          description: 'A signed-in user (POST /auth/login). Every change also needs X-CSRF-Token (csrf_token from GET /api/me) and an allowed Origin',
        },
        adminToken: { type: 'http', scheme: 'bearer', description: 'PINGBACK_ADMIN_TOKEN' },
        visitorToken: { type: 'http', scheme: 'bearer', description: 'A web chat visitor token (POST /widget/{channelId}/visitors), valid WEBCHAT_VISITOR_TOKEN_DAYS; an answer to one past half its life carries a renewed token in X-Visitor-Token' },
        ...webhookSecuritySchemes(),
      },
      // One config schema per channel type, straight from the registry (X: either the four OAuth 1.0a
      // values or oauth2_user_token, plus api_secret for inbound "webhook", checked beyond the schema).
      schemas: {
        ...Object.fromEntries(
          CHANNEL_TYPES.map((t) => [configSchemaName(t), z.toJSONSchema(adapterFor(t).config, { io: 'input', unrepresentable: 'any' })]),
        ),
        Channel: output(channelSchema),
        ChannelSummary: output(channelSummarySchema),
        Account: output(accountSchema),
        ApiKey: output(apiKeySchema),
        IssuedApiKey: output(issuedApiKeySchema),
        MessageTemplate: output(templateInfoSchema),
        UploadedFile: output(uploadedFileSchema),
        CodecPayloads: output(codecPayloadsSchema),
        Readiness: output(readinessSchema),
        WebhookSetAside: output(webhookSetAsideSchema),
        ...agentSchemas(),
      },
    },
    security: [{ apiKey: [] }, { session: [] }],
    paths: {
      '/admin/accounts': {
        post: {
          summary: 'Create an account and its first API key (shown once)',
          security: [{ adminToken: [] }],
          requestBody: { required: true, content: json(createAccountSchema) },
          responses: { 201: ok('The account and its first API key; with admin_email, the first admin and their link to set a password', output(createdAccountSchema)), 401: errorBody, 422: errorBody },
        },
      },
      '/admin/accounts/{id}': {
        get: { summary: 'An account: plan, limits, usage', security: [{ adminToken: [] }], parameters: [idParam], responses: { 200: ok('Account', ref('Account')), 404: errorBody } },
        patch: {
          summary: 'Rename or change plan; a downgrade the active channels exceed is refused naming them',
          security: [{ adminToken: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: json(updateAccountSchema) },
          responses: { 200: ok('Account', ref('Account')), 404: errorBody, 409: errorBody, 422: errorBody },
        },
      },
      '/admin/accounts/{id}/api-keys': {
        post: {
          summary: 'Issue another API key for an account (shown once)',
          security: [{ adminToken: [] }],
          parameters: [idParam],
          requestBody: { required: true, content: json(createApiKeySchema) },
          responses: { 201: ok('The key, shown this once', ref('IssuedApiKey')), 404: errorBody, 422: errorBody },
        },
      },
      '/api/account': {
        get: { summary: "The caller's account: plan, what it allows (max_active_channels, channel_types, max_stored_bytes), current usage (active channels, stored_bytes: the files PingBack keeps for it)", responses: { 200: ok('Account', ref('Account')) } },
      },
      '/api/api-keys': {
        get: { summary: "The account's API keys (prefix only, never the key), oldest first, revoked ones included", responses: { 200: ok('{data: ApiKey[]}', list('ApiKey')) } },
        post: {
          summary: 'Issue an API key (shown once)',
          requestBody: { required: true, content: json(createApiKeySchema) },
          responses: { 201: ok('The key, shown this once', ref('IssuedApiKey')), 422: errorBody },
        },
      },
      '/api/api-keys/{id}': {
        delete: { summary: 'Revoke an API key', parameters: [idParam], responses: { 204: { description: 'Revoked' }, 404: errorBody } },
      },
      '/api/channels': {
        post: {
          summary: 'Connect a channel. Config is validated per type; secrets come back masked.',
          requestBody: { required: true, content: createChannelBody },
          responses: { 201: ok('The channel, with callback_url and status', ref('Channel')), 403: errorBody, 422: errorBody, 503: errorBody },
        },
        get: {
          summary: "List channels: admins and API keys see each whole (config masked, callback_url, verify_token), agents its summary",
          responses: { 200: ok('{data: Channel[]} (agents: ChannelSummary[])', { type: 'object', required: ['data'], properties: { data: { type: 'array', items: channelForRole } } }) },
        },
      },
      '/api/channels/{id}': {
        get: { summary: 'One channel: whole for admins and API keys, its summary for agents', parameters: [idParam], responses: { 200: ok('Channel (agents: ChannelSummary)', channelForRole), 404: errorBody } },
        patch: {
          summary:
            'Rename, change config (merged; a secret sent back masked keeps the stored one; changing a mail server host, port or user needs its password again, 422 otherwise) or switch on/off; reactivation is checked against the plan',
          parameters: [idParam],
          requestBody: { required: true, content: json(updateChannelSchema) },
          responses: { 200: ok('Channel', ref('Channel')), 403: errorBody, 404: errorBody, 422: errorBody, 503: errorBody },
        },
      },
      '/api/channels/{id}/templates': {
        get: {
          summary:
            "A WhatsApp channel's approved message templates, read from its WhatsApp Business Account through the Graph API each time: `{data: [{name, language, category, header, body, parameters: {header, body}}]}`. What a reply may send once the conversation's 24-hour window has closed. 422 business_account_id_required without the account's ID in the channel's settings, 422 templates_not_supported on other channels, 502/503 with Meta's words when Graph refuses or is unreachable",
          parameters: [idParam],
          responses: { 200: ok('The approved templates: {data: MessageTemplate[]}', list('MessageTemplate')), 404: errorBody, 422: errorBody, 502: errorBody, 503: errorBody },
        },
      },
      '/api/channels/{id}/health': {
        get: {
          summary:
            "Asks the channel's platform now how it stands (admins): `{checked_at, ok, status, is_active, account, details, problems, error}`. Telegram: getMe and getWebhookInfo (where the webhook points, `pending_update_count`, Telegram's last delivery error); WhatsApp, Instagram, X, email: the credentials check (a Graph call, /2/users/me, SMTP and IMAP logins). A platform refusing is `ok: false` with its words in `error`, not an error of this request. Read only",
          parameters: [idParam],
          responses: { 200: ok('What the platform said', output(channelHealthSchema)), 403: errorBody, 404: errorBody },
        },
      },
      '/api/channels/{id}/rotate-secrets': {
        post: {
          summary:
            "New webhook_secret and verify_token for a channel (admins), the old ones refused from now on (by every api process within 5 seconds, the life of its channel cache): a Telegram channel's webhook is registered again with the new secret (status pending until it is), the answer shows the new verify_token to paste into Meta's or the mail provider's settings, and web chat visitors start new sessions (their conversations stay). 503 when the re-registration cannot be handed to Temporal; nothing changes then",
          parameters: [idParam],
          responses: { 200: ok('Channel, with its new verify_token', ref('Channel')), 403: errorBody, 404: errorBody, 503: errorBody },
        },
      },
      ...agentPaths(),
      '/api/conversations/{id}/attachments': {
        post: {
          summary:
            "A file for the agent's next reply on a conversation: the raw bytes as the body, its MIME type as Content-Type (415 otherwise), up to WEBCHAT_ATTACHMENT_MAX_BYTES (413). Answers {id, file_name, content_type, size}; the same `id` again answers 200 with the first upload. Kept and swept like a visitor's uploads; 422 attachments_not_supported on channels whose replies cannot carry files yet",
          parameters: [idParam, ...queryParams(uploadQuery)],
          requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
          responses: { 200: ok('The upload with this id, stored before', ref('UploadedFile')), 201: ok('The upload', ref('UploadedFile')), 400: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 415: errorBody, 422: errorBody },
        },
      },
      '/api/conversations/{id}/messages/{messageId}/attachments/{index}': {
        get: {
          summary:
            "An inbound attachment's media, fetched from the platform on demand (PingBack's own copy for a web chat upload or mail that came by webhook) and streamed with its content type; images other than SVG, audio and video inline, anything else as a download",
          parameters: [idParam, { ...idParam, name: 'messageId' }, { name: 'index', in: 'path', required: true, schema: { type: 'integer', minimum: 0 } }],
          responses: {
            200: { description: 'The media bytes', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
            404: errorBody,
            502: errorBody,
            503: errorBody,
          },
        },
      },
      ...webhookPaths(),
      ...widgetPaths(),
      '/healthz': { get: { summary: 'The process and PostgreSQL (kept for existing checks; see /livez and /readyz)', security: [], responses: { 200: ok('ok', output(healthzSchema)), 503: errorBody } } },
      ...Object.fromEntries(
        (['decode', 'encode'] as const).map((op) => [
          `/codec/${op}`,
          {
            post: {
              summary: op === 'decode' ? "Decode Temporal payloads (the operator's codec server)" : 'Encode Temporal payloads as PingBack writes them',
              description:
                "Temporal's remote codec protocol, for the Temporal UI and CLI (`--codec-endpoint <PUBLIC_BASE_URL>/codec --codec-auth 'Bearer <PINGBACK_ADMIN_TOKEN>'`): {payloads: [{metadata: {key: base64}, data: base64}]} in and out, at most 1,000. Payloads hold every tenant's messages: the admin token only. CORS for TEMPORAL_UI_URL's origin.",
              security: [{ adminToken: [] }],
              requestBody: { required: true, content: json(codecPayloadsSchema) },
              responses: { 200: ok(op === 'decode' ? 'The payloads decoded, in order' : 'The payloads encoded, in order', ref('CodecPayloads')), 400: errorBody, 401: errorBody, 422: errorBody },
            },
            options: { summary: "CORS preflight from the Temporal UI's origin (TEMPORAL_UI_URL)", security: [], responses: { 204: { description: 'allowed methods and headers, for that origin only' } } },
          },
        ]),
      ),
      '/livez': { get: { summary: 'Liveness: the process answers', security: [], responses: { 200: ok('Alive', output(livenessSchema)) } } },
      '/readyz': {
        get: {
          summary: 'Readiness: Temporal answers and the api is not shutting down',
          description:
            'Answers {status: ready | not_ready | shutting_down, checks: {temporal, postgres}} (each {ok, ms}; a failed check\'s reason goes to the api\'s log, not to this public answer; checked at most once a second). PostgreSQL is reported but does not make the api unready: webhooks are acknowledged while it is down (Temporal holds them), and the inbox API answers 503 database_unavailable meanwhile.',
          security: [],
          responses: { 200: ok('ready', ref('Readiness')), 503: ok('not_ready (Temporal unreachable) or shutting_down', ref('Readiness')) },
        },
      },
      '/media/{id}': {
        get: {
          summary:
            "A file of an agent's reply, for a platform that fetches files itself (Instagram): the link PingBack hands it names one file and expires within the hour (`t`, sealed and bound to the file). 404 without a valid, unexpired link",
          security: [],
          parameters: [idParam, { name: 't', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'The file', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }, 404: errorBody },
        },
      },
    },
  };
}

/** Every platform's webhook, as its adapter describes it (src/inbound/webhooks.ts serves them). */
function webhookPaths() {
  const operation = (docs: WebhookOperationDocs) => ({
    summary: docs.summary,
    security: docs.security ? [{ [docs.security.name]: [] }] : [],
    parameters: [channelIdParam, ...(docs.parameters ?? [])],
    ...(docs.requestBody ? { requestBody: docs.requestBody } : {}),
    responses: { 200: docs.ok, ...Object.fromEntries(docs.errors.map((status) => [status, errorBody])) },
  });
  /** A delivery may also be set aside whole (src/inbound/webhooks.ts): the platform's answer or that one. */
  const delivery = (docs: WebhookOperationDocs) => {
    const answer = docs.ok.content?.['application/json'] as { schema: object } | undefined;
    return answer ? { ...docs, ok: ok(`${docs.ok.description}; a delivery set aside whole: WebhookSetAside`, { anyOf: [answer.schema, ref('WebhookSetAside')] }) } : docs;
  };
  return Object.fromEntries(
    webhookChannels().map(({ type, hook }) => [
      `/webhooks/${type}/{channelId}`,
      { ...(hook.docs.get ? { get: operation(hook.docs.get) } : {}), post: operation(delivery(hook.docs.post)) },
    ]),
  );
}

/** The security schemes platforms authenticate with (email's Basic password). */
function webhookSecuritySchemes() {
  return Object.fromEntries(
    webhookChannels().flatMap(({ hook }) => [hook.docs.get, hook.docs.post].flatMap((d) => (d?.security ? [[d.security.name, d.security.scheme]] : []))),
  );
}

/**
 * The web chat widget's API: public, called by browsers on the channel's allowed_domains
 * (CORS; a page elsewhere gets 403), the visitor identified by the token it was given.
 */
function widgetPaths() {
  const visitor = [{ visitorToken: [] }];
  const preflight = (what: string, parameters: object[] = [channelIdParam]) => ({
    summary: `CORS preflight for ${what}: 204 with Access-Control-Allow-* for an allowed page, 403 origin_not_allowed otherwise`,
    security: [],
    parameters,
    responses: { 204: { description: 'Allowed' }, 403: errorBody, 404: errorBody },
  });
  return {
    '/widget.js': {
      get: {
        summary: 'The chat widget a site embeds',
        description: 'A site adds it with `<script src="…/widget.js" data-channel="CHANNEL_ID" async></script>`.',
        security: [],
        responses: { 200: { description: 'JavaScript', content: { 'application/javascript': { schema: { type: 'string' } } } } },
      },
    },
    '/widget/{channelId}': {
      get: {
        summary: "What the widget shows: active, welcome_message, brand_color, logo_url (the channel's webchat config)",
        security: [],
        parameters: [channelIdParam],
        responses: { 200: ok('The widget settings', output(widgetSettingsSchema)), 403: errorBody, 404: errorBody },
      },
      options: preflight('the widget settings'),
    },
    '/widget/{channelId}/visitors': {
      post: {
        summary: 'Start a visitor: a token (Authorization: Bearer) that names this visitor on this channel; its conversation starts with its first message. Limited per IP address (WEBCHAT_VISITORS_PER_MINUTE)',
        security: [],
        parameters: [channelIdParam],
        responses: { 201: ok('The visitor and its token', output(widgetVisitorSchema)), 403: errorBody, 404: errorBody, 409: errorBody, 429: errorBody },
      },
      options: preflight('starting a visitor'),
    },
    '/widget/{channelId}/messages': {
      post: {
        summary:
          `A visitor's message, into the conversation's workflow (202 once Temporal has it). \`attachments\` names up to ${MAX_ATTACHMENTS_PER_MESSAGE} of the visitor's uploads (400 invalid_attachment for any other id, nothing stored); \`content\` may then be empty. Sending the same \`id\` again stores it once (the first content and files win); without an \`id\` a retry may store it twice. Limited per visitor (WEBCHAT_MESSAGES_PER_MINUTE); 409 channel_inactive while the channel is off`,
        security: visitor,
        parameters: [channelIdParam],
        requestBody: { required: true, content: json(widgetMessageSchema) },
        responses: { 202: ok('Accepted: Temporal has it', output(widgetMessageAcceptedSchema)), 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 409: errorBody, 413: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
      },
      get: {
        summary:
          "The visitor's conversation oldest first from `cursor` ({data, cursor}; pass cursor back to get only what is new; a cursor is sealed and names its visitor). Agents' replies appear once sent, in the order agents wrote them; `wait` (seconds, up to 25) holds an empty answer open until something arrives, one open poll per visitor (a newer one ends the older); 120 reads per visitor per minute",
        security: visitor,
        parameters: [channelIdParam, ...queryParams(widgetMessagesQuery)],
        responses: { 200: ok("The messages from the cursor on, each with its files (the visitor's or the agent's), and the cursor to pass back", output(widgetMessagesSchema)), 400: errorBody, 401: errorBody, 403: errorBody, 404: errorBody, 422: errorBody, 429: errorBody, 503: errorBody },
      },
      options: preflight('messages'),
    },
    '/widget/{channelId}/attachments': {
      post: {
        summary: `A file for a visitor's message: the raw bytes as the body, its MIME type as Content-Type (415 otherwise), up to WEBCHAT_ATTACHMENT_MAX_BYTES (413). Answers {id, file_name, content_type, size}; name the id in a message's \`attachments\`. Uploading with the same \`id\` again answers 200 with the first upload (409 upload_id_reused if the bytes differ). PingBack keeps the file with the message that names it; one no stored message takes is deleted ${UNLINKED_TTL_HOURS} hours after its upload (${CLAIMED_TTL_DAYS} days after an accepted message last named it), a visitor may hold ${MAX_UNLINKED_UPLOADS} such at once (409 too_many_pending_uploads), and an account its plan's bytes (409 storage_quota_exceeded). Limited per visitor (WEBCHAT_UPLOADS_PER_MINUTE) and per address (three times that)`,
        security: visitor,
        parameters: [channelIdParam, ...queryParams(uploadQuery)],
        requestBody: { required: true, content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          200: ok('The upload with this id, stored before', ref('UploadedFile')),
          201: ok('The upload', ref('UploadedFile')),
          400: errorBody,
          401: errorBody,
          403: errorBody,
          404: errorBody,
          409: errorBody,
          413: errorBody,
          415: errorBody,
          422: errorBody,
          429: errorBody,
        },
      },
      options: preflight('uploads'),
    },
    '/widget/{channelId}/attachments/{id}': {
      get: {
        summary: "One of this visitor's own uploads or of an agent's reply to them, with its content type (images other than SVG, audio and video inline, anything else as a download); anyone else's is 404",
        security: visitor,
        parameters: [channelIdParam, idParam],
        responses: { 200: { description: 'The file', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } }, 401: errorBody, 403: errorBody, 404: errorBody, 429: errorBody },
      },
      options: preflight('reading an upload', [channelIdParam, idParam]),
    },
  };
}
