import { useEffect, useRef } from 'preact/hooks';
import type { ConversationItem } from '../api/types';
import { CHANNEL_DISPLAY_NAMES, CHANNEL_TYPES } from '../api/types';
import { channels } from '../state/channels';
import { conversations, counts, type Filters, loadError, loading, loadMore, nextCursor } from '../state/inbox';
import { shortTime } from '../lib/format';
import { Avatar } from './Avatar';
import { ChannelIcon } from './ChannelIcon';
import { ErrorLine } from './Feedback';

interface Props {
  filters: Filters;
  openId: string | null;
  onFilters(f: Filters): void;
  hrefOf(id: string): string;
}

function Row({ c, active, href }: { c: ConversationItem; active: boolean; href: string }) {
  const name = c.contact.name ?? c.contact.handle;
  const unread = c.unread_count ?? 0;
  return (
    <li class={`row${active ? ' active' : ''}${unread ? ' unread' : ''}`}>
      <a href={href} data-id={c.id} aria-current={active ? 'true' : undefined}>
        <span class="row-avatar">
          <Avatar name={name} size={36} />
          <span class="row-channel">
            <ChannelIcon type={c.channel_type} size={16} />
          </span>
        </span>
        <span class="row-main">
          <span class="row-top">
            <span class="row-name">{name}</span>
            <time class="row-time" dateTime={c.last_message_at}>
              {shortTime(c.last_message_at)}
            </time>
          </span>
          <span class="row-bottom">
            <span class="row-preview">
              {c.last_message?.direction === 'outbound' && <span class="muted">You: </span>}
              {c.last_message?.preview || <span class="muted">No messages yet</span>}
            </span>
            {unread > 0 && (
              <span class="badge">
                {unread >= 100 ? '99+' : unread}
                <span class="sr-only"> unread</span>
              </span>
            )}
          </span>
          <span class="row-meta">
            {c.assignee ? <span class="row-assignee">→ {c.assignee.name}</span> : <span class="muted">Unassigned</span>}
            {c.status !== 'open' && <span class={`status-badge ${c.status}`}>{c.status}</span>}
          </span>
        </span>
      </a>
    </li>
  );
}

/** The inbox's left column: tabs with live counts, filters, search, and the list, endless by cursor. */
export function ConversationList({ filters, openId, onFilters, hrefOf }: Props) {
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((seen) => seen.some((s) => s.isIntersecting) && void loadMore());
    io.observe(el);
    return () => io.disconnect();
  }, []);
  const n = counts.value;
  const tab = (id: Filters['tab'], label: string, count: number | null | undefined) => (
    <button type="button" role="tab" aria-selected={filters.tab === id} onClick={() => onFilters({ ...filters, tab: id })}>
      {label}
      {count !== null && count !== undefined && <span class="tab-count">{count}</span>}
    </button>
  );
  const list = conversations.value;
  return (
    <section class="list-pane" aria-label="Inbox">
      <div class="list-header">
        <div class="tabs" role="tablist" aria-label="Whose">
          {tab('mine', 'Mine', n?.mine)}
          {tab('unassigned', 'Unassigned', n?.unassigned)}
          {tab('all', 'All', n?.all)}
        </div>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = new FormData(e.currentTarget as HTMLFormElement).get('q');
            onFilters({ ...filters, q: String(q ?? '').trim() });
          }}
        >
          <input type="search" name="q" aria-label="Search conversations" placeholder="Search names and messages" value={filters.q} key={filters.q} />
        </form>
        <div class="filters">
          <label class="sr-only" for="status-filter">
            Status
          </label>
          <select id="status-filter" value={filters.status} onChange={(e) => onFilters({ ...filters, status: (e.currentTarget as HTMLSelectElement).value as Filters['status'] })}>
            <option value="open">Open</option>
            <option value="pending">Pending</option>
            <option value="snoozed">Snoozed</option>
            <option value="resolved">Resolved</option>
            <option value="all">All statuses</option>
          </select>
          <label class="sr-only" for="channel-filter">
            Channel
          </label>
          <select id="channel-filter" value={filters.channel} onChange={(e) => onFilters({ ...filters, channel: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">All channels</option>
            {channels.value.map((ch) => (
              <option key={ch.id} value={ch.id}>
                {ch.name} ({CHANNEL_DISPLAY_NAMES[ch.type]})
              </option>
            ))}
          </select>
        </div>
        <div class="type-filters" role="group" aria-label="Channel type">
          {CHANNEL_TYPES.filter((t) => channels.value.some((ch) => ch.type === t)).map((t) => (
            <button
              key={t}
              type="button"
              class="type-chip"
              aria-pressed={filters.type === t}
              onClick={() => onFilters({ ...filters, type: filters.type === t ? '' : t })}
            >
              <ChannelIcon type={t} size={16} />
              {n?.by_channel_type[t] ? <span class="tab-count">{n.by_channel_type[t]}</span> : null}
            </button>
          ))}
        </div>
      </div>
      <ErrorLine>{loadError.value}</ErrorLine>
      <ul class="rows" aria-label="Conversations">
        {list.map((c) => (
          <Row key={c.id} c={c} active={c.id === openId} href={hrefOf(c.id)} />
        ))}
      </ul>
      {!loading.value && list.length === 0 && <p class="empty">No conversations here.</p>}
      <div ref={sentinel} class="sentinel">
        {nextCursor.value && (
          <button type="button" class="link" onClick={() => void loadMore()}>
            {loading.value ? 'Loading…' : 'Load more'}
          </button>
        )}
      </div>
    </section>
  );
}
