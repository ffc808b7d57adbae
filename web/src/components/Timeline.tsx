import type { MailAuth } from '../../../src/channels/email/authenticate';
import { useEffect, useState } from 'preact/hooks';
import type { Activity, ConversationItem } from '../api/types';
import type { Entry } from '../state/conversation';
import { retryFailedReply, retrySend } from '../state/conversation';
import { fullTime } from '../lib/format';

type Attachment = { type?: string; fileName?: string; file_name?: string; mimeType?: string; content_type?: string; caption?: string };

/** A message's files, through the API: images as thumbnails that open full size, audio and video playable, the rest as downloads. */
function Attachments({ conversationId, entry }: { conversationId: string; entry: Entry }) {
  if (!('attachments' in entry) || entry.attachments.length === 0 || entry.sending) return null;
  return (
    <div class="attachments">
      {(entry.attachments as Attachment[]).map((a, i) => {
        const url = `/api/conversations/${conversationId}/messages/${entry.id}/attachments/${i}`;
        const name = a.fileName ?? a.file_name ?? `${a.type ?? 'file'} ${i + 1}`;
        const mime = a.mimeType ?? a.content_type ?? '';
        const kind = a.type ?? mime.split('/')[0];
        if ((kind === 'image' || kind === 'sticker' || mime.startsWith('image/')) && !mime.includes('svg')) {
          return (
            <a key={i} href={url} target="_blank" rel="noopener" class="attachment-image">
              <img src={url} alt={name} loading="lazy" />
            </a>
          );
        }
        if (kind === 'audio' || kind === 'voice' || mime.startsWith('audio/')) return <audio key={i} controls src={url} aria-label={name} preload="none" />;
        if (kind === 'video' || mime.startsWith('video/')) return <video key={i} controls src={url} aria-label={name} preload="none" />;
        if (kind === 'location' || kind === 'contact') return <span key={i} class="attachment-file">{kind}</span>;
        return (
          <a key={i} href={url} download={name} class="attachment-file">
            📎 {name}
          </a>
        );
      })}
    </div>
  );
}

const STATUS_WORDS: Record<string, string> = { open: 'open', pending: 'pending', snoozed: 'snoozed', resolved: 'resolved' };

/** An activity entry in words: who did what. */
export function activityText(a: Activity, who: string | null, whoId?: string): string {
  if (a.type === 'assignee_changed') {
    if (!a.to) return `${who ?? 'PingBack'} unassigned ${a.from?.name ?? 'it'}`;
    if (whoId && a.to.id === whoId) return `${who} took this conversation`;
    return `${who ?? 'PingBack'} assigned this to ${a.to.name}`;
  }
  if (a.reason === 'snooze_ended') return 'The snooze ended: open again';
  if (a.reason === 'customer_message') return `The customer wrote: ${STATUS_WORDS[a.from]} → open`;
  if (a.to === 'snoozed' && a.snoozed_until) return `${who ?? 'PingBack'} snoozed this until ${fullTime(a.snoozed_until)}`;
  return `${who ?? 'PingBack'} marked this ${STATUS_WORDS[a.to]}`;
}

/** Seconds until a time, counting down while shown. */
function useSecondsUntil(iso: string | null): number | null {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!iso) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [iso]);
  return iso ? Math.max(0, Math.round((Date.parse(iso) - now) / 1000)) : null;
}

/** A reply the platform refused, or that could not go out in time: why, and a way to send it again. */
function FailedReply({ entry }: { entry: Extract<Entry, { kind: 'reply' }> }) {
  const [busy, setBusy] = useState(false);
  const [refused, setRefused] = useState<string | null>(null);
  const retry = async () => {
    setBusy(true);
    setRefused(null);
    try {
      await retryFailedReply(entry);
    } catch (err) {
      setRefused((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="reply-status failed">
      Failed: {entry.error ?? 'the platform refused it'}{' '}
      <button type="button" class="link" disabled={busy} onClick={() => void retry()} aria-label="Retry sending this reply">
        Retry
      </button>
      {refused && <span role="alert"> {refused}</span>}
    </span>
  );
}

function ReplyStatus({ entry }: { entry: Extract<Entry, { kind: 'reply' }> }) {
  const wait = useSecondsUntil(entry.status === 'pending' && entry.attempts > 0 ? entry.next_attempt_at : null);
  if (entry.sending === 'sending') return <span class="reply-status">Sending…</span>;
  if (entry.sending === 'failed') {
    return (
      <span class="reply-status failed" role="alert">
        Not sent: {entry.sendError}{' '}
        <button type="button" class="link" onClick={() => void retrySend(entry)}>
          Retry
        </button>
      </span>
    );
  }
  if (entry.status === 'failed') return <FailedReply entry={entry} />;
  if (entry.status === 'waiting_for_channel') {
    return <span class="reply-status pending">Waiting for the channel to be reconnected; it goes out once it is</span>;
  }
  if (entry.status === 'pending') {
    if (entry.attempts === 0) return <span class="reply-status pending">Pending</span>;
    const next = wait === null ? '' : wait === 0 ? '; trying again now' : `; next try in ${wait < 120 ? `${wait} s` : `${Math.round(wait / 60)} min`}`;
    return (
      <span class="reply-status pending">
        Retrying: attempt {entry.attempts} failed{entry.error ? ` (${entry.error})` : ''}
        {next}
      </span>
    );
  }
  const words = { sent: 'Sent', delivered: 'Delivered', read: 'Read' } as const;
  // An attempt was cut off mid-send (a worker died) and the reply went again: the platform may show it twice.
  const twice = Number(entry.metadata?.uncertain_sends ?? 0) > 0;
  return (
    <span class={`reply-status ${entry.status}`}>
      {words[entry.status]}
      {twice && (
        <span class="uncertain-send" title="A send of this reply was cut off before the platform answered, so it was sent again: the customer may see it twice.">
          {' '}
          (may show twice)
        </span>
      )}
    </span>
  );
}

/** The conversation's timeline: customer messages, replies with their author and status, notes, activity. */
export function Timeline({ conversation, entries }: { conversation: ConversationItem; entries: Entry[] }) {
  return (
    <ol class="timeline" aria-label="Timeline">
      {entries.map((e) => {
        if (e.kind === 'activity') {
          return (
            <li key={e.id} class="entry activity">
              <span>{activityText(e.activity, e.author?.name ?? null, e.author?.id)}</span> · <time dateTime={e.created_at}>{fullTime(e.created_at)}</time>
            </li>
          );
        }
        if (e.kind === 'note') {
          return (
            <li key={e.id} class="entry note" aria-label="Private note">
              <div class="entry-meta">
                <strong>Private note</strong> · {e.author?.name ?? 'you'} · <time dateTime={e.created_at}>{fullTime(e.created_at)}</time>
                {e.sending === 'sending' && ' · saving…'}
              </div>
              <div class="entry-text">{e.content}</div>
              {e.sending === 'failed' && (
                <span class="reply-status failed" role="alert">
                  Not saved: {e.sendError}{' '}
                  <button type="button" class="link" onClick={() => void retrySend(e)}>
                    Retry
                  </button>
                </span>
              )}
            </li>
          );
        }
        if (e.kind === 'customer_message') {
          return (
            <li key={e.id} class="entry message inbound">
              <div class="bubble">
                {e.content && <div class="entry-text">{e.content}</div>}
                <Attachments conversationId={conversation.id} entry={e} />
              </div>
              <div class="entry-meta">
                {conversation.contact.name ?? conversation.contact.handle} · <time dateTime={e.created_at}>{fullTime(e.created_at)}</time>
                <SenderCheck metadata={e.metadata} />
              </div>
            </li>
          );
        }
        return (
          <li key={e.id} class="entry message outbound">
            <div class="bubble">
              {e.content && <div class="entry-text">{e.content}</div>}
              <Attachments conversationId={conversation.id} entry={e} />
            </div>
            <div class="entry-meta">
              {e.author?.name ?? 'PingBack'} · <time dateTime={e.created_at}>{fullTime(e.created_at)}</time> · <ReplyStatus entry={e} />
            </div>
          </li>
        );
      })}
    </ol>
  );
}

/**
 * A mail whose sender could not be verified (SPF, DKIM, DMARC; see the server's
 * channels/email/authenticate.ts) says so beside it: the From line of a mail is easy to forge.
 */
function SenderCheck({ metadata }: { metadata: Record<string, unknown> }) {
  const auth = metadata.mail_auth as Partial<MailAuth> | undefined;
  if (!auth || auth.verdict === 'pass') return null;
  const domain = auth.domain ?? 'the domain it names';
  const [label, why] =
    auth.verdict === 'fail'
      ? ['Sender failed DMARC', `${domain} publishes who may send its mail, and this mail does not match it: it may be forged.`]
      : ['Sender not verified', `Nothing proves this mail came from ${domain} (no valid signature or sender record).`];
  return (
    <>
      {' · '}
      <span class={`sender-check ${auth.verdict}`} title={`${why} SPF ${auth.spf}, DKIM ${auth.dkim}, DMARC ${auth.dmarc}.`}>
        {label}
      </span>
    </>
  );
}
