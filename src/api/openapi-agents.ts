import { z } from 'zod';
import { countsSchema, conversationItemSchema, inboxEventSchema, meSchema, timelineEntrySchema } from '../inbox/schemas';
import { userSchema } from '../db/users';
import { listConversationsQuery, markReadSchema, readMarkerSchema, updateConversationSchema } from './conversations';
import { listMessagesQuery, noteSchema, replySchema, retryQueuedSchema } from './conversation-messages';
import { channelTypesSchema } from './channel-types';
import { errorBody, idParam, json, ok, output, queryParams, ref } from './openapi-helpers';
import { loginSchema, setPasswordSchema } from './session';
import { invitationSchema, inviteUserSchema, passwordLinkSchema, updateUserSchema } from './users';

const page = (item: string) => ({ type: 'object', required: ['data', 'next_cursor'], properties: { data: { type: 'array', items: ref(item) }, next_cursor: { type: ['string', 'null'] } } });

/** GET /api/conversations/{id}: the conversation, and its workflow's state query as it answers now (not a stored shape). */
const conversationDetailSchema = conversationItemSchema.extend({
  live: z
    .record(z.string(), z.unknown())
    .nullable()
    .describe(
      "The conversation workflow's state query: conversationId, channelId, channelType, threadKey, inboundWaiting, pendingSends (replies queued or retrying, with attempts and lastError), totals {received, sent, failed} of the current run. null when Temporal does not answer within 2 seconds, or when the conversation's run has ended after a quiet period (CONVERSATION_QUIET_END_HOURS: nothing in flight; the next message starts a new run)",
    ),
});

/** The answers' shapes, from the schemas the presenters are typed by. */
export function agentSchemas() {
  return {
    Conversation: output(conversationItemSchema),
    ConversationDetail: output(conversationDetailSchema),
    TimelineEntry: output(timelineEntrySchema),
    InboxEvent: output(inboxEventSchema),
    Counts: output(countsSchema),
    User: output(userSchema),
    Me: output(meSchema),
  };
}

/** Sign-in, the team, the inbox and the event stream. */
export function agentPaths() {
  const session = [{ session: [] }];
  return {
    '/auth/login': {
      post: {
        summary:
          'Sign in: 204 with an httpOnly session cookie. A wrong email and a wrong password get the same 401 invalid_credentials; failed attempts are limited per email and per address (429 too_many_attempts with Retry-After)',
        security: [],
        requestBody: { required: true, content: json(loginSchema) },
        responses: { 204: { description: 'Signed in' }, 400: errorBody, 401: errorBody, 403: errorBody, 422: errorBody, 429: errorBody },
      },
    },
    '/auth/logout': { post: { summary: 'Sign out this session', security: [], responses: { 204: { description: 'Signed out' } } } },
    '/auth/logout-all': {
      post: { summary: "End every session of the signed-in user (needs X-CSRF-Token)", security: session, responses: { 204: { description: 'Signed out everywhere' }, 401: errorBody, 403: errorBody } },
    },
    '/auth/set-password': {
      post: {
        summary: 'Redeem an invitation or password-reset link: sets the password (then sign in) and ends the user\'s sessions. 400 invalid_token for a used, expired or unknown link; 422 for a password under 10 characters',
        security: [],
        requestBody: { required: true, content: json(setPasswordSchema) },
        responses: { 204: { description: 'Password set' }, 400: errorBody, 422: errorBody },
      },
    },
    '/api/me': {
      get: {
        summary: 'Who is asking: the user (or API key), their role, the account and its plan, and csrf_token, which a session sends as X-CSRF-Token with every change',
        responses: { 200: ok('Who is asking', ref('Me')), 401: errorBody },
      },
    },
    '/api/users': {
      get: { summary: "The account's users (every member may read them, to assign conversations)", responses: { 200: ok('{data: User[]}', { type: 'object', properties: { data: { type: 'array', items: ref('User') } } }) } },
    },
    '/api/users/invitations': {
      post: {
        summary: 'Admins: invite a user. Answers invitation_url (single use, valid 7 days) to pass on; 409 email_taken',
        requestBody: { required: true, content: json(inviteUserSchema) },
        responses: { 201: ok('The user, invited, and the link to pass on', output(invitationSchema)), 403: errorBody, 409: errorBody, 422: errorBody },
      },
    },
    '/api/users/{id}': {
      patch: {
        summary: "Admins: rename, change the role, disable (the user's sessions end at once) or enable a user; 409 last_admin when it would leave no active admin",
        parameters: [idParam],
        requestBody: { required: true, content: json(updateUserSchema) },
        responses: { 200: ok('User', ref('User')), 403: errorBody, 404: errorBody, 409: errorBody, 422: errorBody },
      },
    },
    '/api/users/{id}/password-reset': {
      post: {
        summary: 'Admins: a link to set a new password (single use, valid 7 days; a user who never set one gets a new invitation)',
        parameters: [idParam],
        responses: { 201: ok('The link to pass on', output(passwordLinkSchema)), 403: errorBody, 404: errorBody, 409: errorBody },
      },
    },
    '/api/channel-types': {
      get: {
        summary:
          "What can be connected: each channel type's display name, config as JSON Schema (from the schema that validates it), secret fields, setup (api, console, none) and instructions, and whether the account's plan allows it now (blocked_reason, plan_needed)",
        responses: { 200: ok('{plan, usage, data: ChannelType[]}', output(channelTypesSchema)) },
      },
    },
    '/api/conversations': {
      get: {
        summary: 'The inbox, newest activity first, paged with next_cursor; filters combine. `assignee=me` and `unread` need a signed-in user',
        parameters: queryParams(listConversationsQuery),
        responses: { 200: ok('A page of conversations', page('Conversation')), 400: errorBody, 422: errorBody },
      },
    },
    '/api/conversations/counts': {
      get: { summary: 'Open conversations for the inbox badges: mine, unassigned, all, per channel type; and every status', responses: { 200: ok('Counts', ref('Counts')) } },
    },
    '/api/conversations/{id}': {
      get: {
        summary: 'One conversation, with `live`: the workflow state (queued and retrying replies)',
        parameters: [idParam],
        responses: { 200: ok('Conversation and live', ref('ConversationDetail')), 404: errorBody },
      },
      patch: {
        summary:
          'Change the status (a snoozed one opens again at snoozed_until, or when the customer writes), or the assignee; each change is an activity entry in the timeline. 409 conversation_changed when a customer message arrived meanwhile',
        parameters: [idParam],
        requestBody: { required: true, content: json(updateConversationSchema) },
        responses: { 200: ok('Conversation', ref('Conversation')), 404: errorBody, 409: errorBody, 422: errorBody, 503: errorBody },
      },
    },
    '/api/conversations/{id}/messages': {
      get: {
        summary: 'The timeline: customer messages, replies (with their author and status), notes and activity entries, in order, each with its kind; paged with next_cursor',
        parameters: [idParam, ...queryParams(listMessagesQuery)],
        responses: { 200: ok('A page of the timeline', page('TimelineEntry')), 400: errorBody, 404: errorBody, 422: errorBody },
      },
      post: {
        summary:
          "Reply: stored as pending and sent through the channel durably. `attachments`: files uploaded for this conversation, on every channel (422 file_not_accepted past the platform's limits, naming the file). The same `Idempotency-Key` header (or `client_id` in the body; 422 when both are sent and differ) again answers 200 with the first reply, never a second one. WhatsApp: a free-form reply more than 24 hours after the customer's last message is 409 outside_messaging_window (see the conversation's `window_closes_at`); `template` (an approved template, Meta's shape, text parameters) goes out at any time, checked first against the account's templates (422 template_not_found, template_parameters), and the timeline shows its text",
        parameters: [idParam, { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', minLength: 1, maxLength: 100 } }],
        requestBody: { required: true, content: json(replySchema) },
        responses: { 200: ok('The reply sent with this client_id before', ref('TimelineEntry')), 202: ok('The pending reply', ref('TimelineEntry')), 400: errorBody, 404: errorBody, 409: errorBody, 422: errorBody, 503: errorBody },
      },
    },
    '/api/messages/{id}/retry': {
      post: {
        summary:
          "Send a failed reply again, through its conversation's workflow (an update: the answer says it was queued), behind any reply already queued; its attempts start over and its day to go out counts from now. 409 not_failed for a reply that is not failed (with its `status`), 409 channel_inactive while its channel is off, 404 for anything that is not a reply this user can see",
        parameters: [idParam],
        responses: {
          202: ok('Queued: `{queued: true, position, message}` (position 1 = next to go out; message as in the timeline)', output(retryQueuedSchema)),
          404: errorBody,
          409: errorBody,
          503: errorBody,
        },
      },
    },
    '/api/conversations/{id}/notes': {
      post: {
        summary: 'A private note: in the timeline, never sent to the customer. The same `client_id` again answers 200 with the first note',
        parameters: [idParam],
        requestBody: { required: true, content: json(noteSchema) },
        responses: { 200: ok('The note written with this client_id before', ref('TimelineEntry')), 201: ok('The note', ref('TimelineEntry')), 404: errorBody, 422: errorBody },
      },
    },
    '/api/conversations/{id}/read': {
      post: {
        summary: "Move the signed-in user's read marker forward to a message (never back); answers the conversation's unread_count",
        parameters: [idParam],
        requestBody: { required: true, content: json(markReadSchema) },
        responses: { 200: ok('{unread_count}', output(readMarkerSchema)), 400: errorBody, 404: errorBody, 422: errorBody },
      },
    },
    '/api/events': {
      get: {
        summary:
          "The account's changes as server-sent events (text/event-stream): conversation.created/updated, message.created/updated (customer messages, replies, notes, activity), channel.created/updated, each with the object's snapshot as `data`. Send Last-Event-ID (or ?last_event_id=) to get exactly what was missed; one older than EVENTS_RETENTION_HOURS gets a single `reset` event. A comment every 25 s keeps the connection open",
        parameters: [
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^\\d{1,19}$' } },
          { name: 'last_event_id', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d{1,19}$' } },
        ],
        responses: { 200: { description: 'The stream; each event\'s data is an InboxEvent', content: { 'text/event-stream': { schema: ref('InboxEvent') } } }, 400: errorBody, 401: errorBody, 503: errorBody },
      },
    },
  };
}
