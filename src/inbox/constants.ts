/** The inbox's fixed vocabularies, without zod, for the dashboard as for the server. */
export const CONVERSATION_STATUSES = ['open', 'pending', 'snoozed', 'resolved'] as const;
export const EVENT_TYPES = [
  'conversation.created',
  'conversation.updated',
  'message.created',
  'message.updated',
  'message.deleted',
  'channel.created',
  'channel.updated',
] as const;
