import { recordIgnoredEvents } from '../src/db/ignored-events';
import type { Db } from '../src/db/knex';
import type { ChannelType, InboundMessage } from '../src/channels/types';

export interface PersistInboundInput {
  accountId: string;
  channelId: string;
  channelType: ChannelType;
  threadKey: string;
  workflowId: string;
  messages: InboundMessage[];
}

export interface PersistInboundResult {
  conversationId: string | null;
  stored: number;
  duplicates: number;
  ignored?: 'channel_inactive' | 'channel_not_found';
  /** When something was stored: the conversation's last_message_at, which also reopened it. */
  lastMessageAt?: string;
}

/**
 * Stores a batch of a conversation's inbound messages in one transaction, in
 * order. Safe to run twice: the contact, the conversation and each message are
 * keyed by the platform's ids, so a retry or a platform redelivery stores nothing new.
 */
export function makePersistInbound(db: Db) {
  return async function persistInbound(input: PersistInboundInput): Promise<PersistInboundResult> {
    if (input.messages.length === 0) return { conversationId: null, stored: 0, duplicates: 0 };
    return db.transaction(async (trx) => {
      const channel = await trx('channels').where({ id: input.channelId }).first('id', 'is_active');
      if (!channel) return { conversationId: null, stored: 0, duplicates: input.messages.length, ignored: 'channel_not_found' };
      if (!channel.is_active) {
        // Raced with a deactivation after the ingress checked: kept aside, never routed into the inbox.
        await recordIgnoredEvents(
          trx,
          input.messages.map((m) => ({ channel_id: input.channelId, reason: 'channel_inactive', platform_event_id: m.platformMessageId, payload: m })),
        );
        return { conversationId: null, stored: 0, duplicates: 0, ignored: 'channel_inactive' };
      }

      const last = input.messages[input.messages.length - 1];
      const [contact] = await trx('contacts')
        .insert({
          channel_id: input.channelId,
          platform_user_id: last.contact.platformUserId,
          name: last.contact.name ?? null,
          username: last.contact.username ?? null,
        })
        .onConflict(['channel_id', 'platform_user_id'])
        .merge({
          // A customer renaming themselves shows up; a payload without a name keeps the old one.
          name: trx.raw('COALESCE(EXCLUDED.name, contacts.name)'),
          username: trx.raw('COALESCE(EXCLUDED.username, contacts.username)'),
          updated_at: trx.fn.now(),
        })
        .returning('id');

      const [conversation] = await trx('conversations')
        .insert({
          account_id: input.accountId,
          channel_id: input.channelId,
          channel_type: input.channelType,
          contact_id: contact.id,
          thread_key: input.threadKey,
          workflow_id: input.workflowId,
        })
        .onConflict(['channel_id', 'thread_key'])
        .merge({ updated_at: trx.fn.now() })
        .returning('id');

      const rows = input.messages.map((m) => ({
        conversation_id: conversation.id,
        direction: 'inbound',
        platform_message_id: m.platformMessageId,
        content: m.content,
        content_type: m.contentType,
        attachments: JSON.stringify(m.attachments),
        metadata: JSON.stringify(m.sender ? { ...m.metadata, sender: m.sender } : m.metadata),
        status: 'received',
        platform_timestamp: m.platformTimestamp ?? null,
      }));
      // One statement keeps the batch's order in `seq`; duplicates fall out silently.
      const inserted = await trx('messages')
        .insert(rows)
        .onConflict(['conversation_id', 'direction', 'platform_message_id'])
        .ignore()
        .returning('id');

      let lastMessageAt: string | undefined;
      if (inserted.length > 0) {
        const [updated] = await trx('conversations')
          .where({ id: conversation.id })
          .update({ last_message_at: trx.fn.now(), status: 'open' })
          .returning('last_message_at');
        lastMessageAt = new Date(updated.last_message_at).toISOString();
      }
      return { conversationId: conversation.id, stored: inserted.length, duplicates: rows.length - inserted.length, lastMessageAt };
    });
  };
}
