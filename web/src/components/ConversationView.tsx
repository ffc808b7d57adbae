import { useEffect, useRef, useState } from 'preact/hooks';
import { get, query } from '../api/client';
import type { ConversationItem, Page } from '../api/types';
import { CHANNEL_DISPLAY_NAMES } from '../api/types';
import { team } from '../state/channels';
import { conversation, conversationError, loadOlder, olderCursor, timeline, updateConversation } from '../state/conversation';
import { me } from '../state/session';
import { fullTime, shortTime, snoozePresets } from '../lib/format';
import { Avatar } from './Avatar';
import { ChannelIcon } from './ChannelIcon';
import { Composer } from './Composer';
import { Timeline } from './Timeline';
import { ErrorLine } from './Feedback';

function Actions({ c }: { c: ConversationItem }) {
  const [error, setError] = useState<string | null>(null);
  const [snoozing, setSnoozing] = useState(false);
  const [date, setDate] = useState('');
  const run = (changes: Parameters<typeof updateConversation>[0]) => {
    setError(null);
    updateConversation(changes).catch((err) => setError((err as Error).message));
  };
  const myId = me.value?.user?.id;
  const snooze = (until: Date) => {
    setSnoozing(false);
    run({ status: 'snoozed', snoozed_until: until.toISOString() });
  };
  return (
    <div class="conversation-actions">
      <label class="sr-only" for="assignee">
        Assignee
      </label>
      <select
        id="assignee"
        value={c.assignee?.id ?? ''}
        onChange={(e) => run({ assignee_id: (e.currentTarget as HTMLSelectElement).value || null })}
      >
        <option value="">Unassigned</option>
        {team.value
          .filter((u) => u.status === 'active' || u.id === c.assignee?.id)
          .map((u) => (
            <option key={u.id} value={u.id}>
              {u.name}
              {u.id === myId ? ' (me)' : ''}
            </option>
          ))}
      </select>
      {myId && c.assignee?.id !== myId && (
        <button type="button" class="button secondary" onClick={() => run({ assignee_id: myId })}>
          Assign to me
        </button>
      )}
      {c.status !== 'open' && (
        <button type="button" class="button secondary" onClick={() => run({ status: 'open' })}>
          Reopen
        </button>
      )}
      {c.status !== 'pending' && (
        <button type="button" class="button secondary" onClick={() => run({ status: 'pending' })}>
          Pending
        </button>
      )}
      <div class="menu">
        <button type="button" class="button secondary" aria-expanded={snoozing} onClick={() => setSnoozing(!snoozing)}>
          Snooze
        </button>
        {snoozing && (
          <div class="menu-popover" role="menu" aria-label="Snooze until">
            {snoozePresets().map((p) => (
              <button key={p.label} type="button" role="menuitem" onClick={() => snooze(p.until)}>
                {p.label}
              </button>
            ))}
            <form
              class="snooze-date"
              onSubmit={(e) => {
                e.preventDefault();
                if (date) snooze(new Date(date));
              }}
            >
              <label for="snooze-date">A date</label>
              <input id="snooze-date" type="datetime-local" value={date} onInput={(e) => setDate((e.currentTarget as HTMLInputElement).value)} />
              <button type="submit" class="button secondary" disabled={!date}>
                Snooze
              </button>
            </form>
          </div>
        )}
      </div>
      {c.status !== 'resolved' && (
        <button type="button" class="button primary" onClick={() => run({ status: 'resolved' })}>
          Resolve
        </button>
      )}
      <ErrorLine>{error}</ErrorLine>
    </div>
  );
}

/** Who the customer is, and their other conversations on this channel. */
function ContactPanel({ c, open }: { c: ConversationItem; open: boolean }) {
  const [others, setOthers] = useState<ConversationItem[]>([]);
  useEffect(() => {
    let live = true;
    get<Page<ConversationItem>>(`/api/conversations${query({ contact_id: c.contact.id, status: 'all', limit: 10 })}`)
      .then((p) => live && setOthers(p.data.filter((o) => o.id !== c.id)))
      .catch(() => undefined);
    return () => void (live = false);
  }, [c.contact.id, c.id]);
  const ui = me.value?.temporal_ui;
  return (
    <aside class={`contact-panel${open ? ' open' : ''}`} aria-label="Contact" id="contact-panel">
      <div class="contact-card">
        <Avatar name={c.contact.name ?? c.contact.handle} size={48} />
        <h3>{c.contact.name ?? c.contact.handle}</h3>
        <p class="muted">{c.contact.handle}</p>
        <p class="contact-channel">
          <ChannelIcon type={c.channel_type} size={16} /> {c.channel.name} · {CHANNEL_DISPLAY_NAMES[c.channel_type]}
        </p>
      </div>
      <h4>Other conversations</h4>
      {others.length === 0 ? (
        <p class="muted">None</p>
      ) : (
        <ul class="contact-others">
          {others.map((o) => (
            <li key={o.id}>
              <a href={`/inbox/${o.id}`}>
                {o.last_message?.preview || '(no messages)'} <span class="muted">· {o.status} · {shortTime(o.last_message_at)}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {ui && (
        <p>
          <a href={`${ui.url}/namespaces/${encodeURIComponent(ui.namespace)}/workflows/${encodeURIComponent(c.workflow_id)}`} target="_blank" rel="noopener">
            Open the workflow in Temporal
          </a>
        </p>
      )}
    </aside>
  );
}

const STATUS_LABEL = { open: 'Open', pending: 'Pending', snoozed: 'Snoozed', resolved: 'Resolved' } as const;

/** One conversation: header with its actions, the timeline, the composer, the contact. */
export function ConversationView({ onBack, composerRef }: { onBack: () => void; composerRef: { current: HTMLTextAreaElement | null } }) {
  const c = conversation.value;
  // Below 960 px the contact panel is a sheet the header's Contact button opens.
  const [contactOpen, setContactOpen] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  // Whether the agent is reading the end: new entries keep the view there; scrolled up, it stays put.
  const atEnd = useRef(true);
  const entries = timeline.value;
  const lastId = entries[entries.length - 1]?.id;
  useEffect(() => void (atEnd.current = true), [c?.id]);
  useEffect(() => {
    const el = scroller.current;
    if (el && atEnd.current) el.scrollTop = el.scrollHeight;
  }, [lastId, c?.id]);
  if (conversationError.value) return <div class="empty" role="alert">{conversationError.value}</div>;
  if (!c) return <div class="empty">Loading…</div>;
  return (
    <div class="conversation">
      <header class="conversation-header">
        <button type="button" class="button secondary back" onClick={onBack} aria-label="Back to the list">
          ←
        </button>
        <ChannelIcon type={c.channel_type} size={22} />
        <div class="conversation-title">
          <h2>{c.contact.name ?? c.contact.handle}</h2>
          <span class="muted">
            {c.channel.name} · <span class={`status-badge ${c.status}`}>{STATUS_LABEL[c.status]}</span>
            {c.status === 'snoozed' && c.snoozed_until && ` until ${fullTime(c.snoozed_until)}`}
          </span>
        </div>
        <Actions c={c} />
        <button type="button" class="button secondary contact-toggle" aria-expanded={contactOpen} aria-controls="contact-panel" onClick={() => setContactOpen(!contactOpen)}>
          Contact
        </button>
      </header>
      <div class="conversation-body">
        <div class="timeline-column">
          <div
            class="timeline-scroll"
            ref={scroller}
            onScroll={(e) => {
              const el = e.currentTarget as HTMLDivElement;
              atEnd.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
            }}
          >
            {olderCursor.value && (
              <button type="button" class="link load-older" onClick={() => void loadOlder()}>
                Show earlier messages
              </button>
            )}
            <Timeline conversation={c} entries={entries} />
          </div>
          <Composer conversation={c} textareaRef={composerRef} />
        </div>
        <ContactPanel c={c} open={contactOpen} />
      </div>
    </div>
  );
}
