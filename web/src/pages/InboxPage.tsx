import { useEffect, useRef } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ConversationList } from '../components/ConversationList';
import { ConversationView } from '../components/ConversationView';
import { closeConversation, openConversation } from '../state/conversation';
import { filtersFrom, filtersQuery, loadInbox, unreadTotal, type Filters } from '../state/inbox';
import { notifyOn, setNotify } from '../lib/notify';

/** The inbox: the list on the left, the open conversation on the right (one or the other below 720 px). */
export function InboxPage({ id }: { id?: string }) {
  const { query, route } = useLocation();
  const filters = filtersFrom(query);
  const search = filtersQuery(filters);
  const composer = useRef<HTMLTextAreaElement | null>(null);

  useEffect(() => void loadInbox(filters), [search]);
  useEffect(() => {
    if (id) void openConversation(id);
    else closeConversation();
  }, [id]);
  useEffect(() => {
    const n = unreadTotal.value;
    document.title = n > 0 ? `(${n}) Inbox · PingBack` : 'Inbox · PingBack';
  }, [unreadTotal.value]);

  const hrefOf = (conversationId: string) => `/inbox/${conversationId}${search}`;
  const setFilters = (f: Filters) => route(`/inbox${id ? `/${id}` : ''}${filtersQuery(f)}`);

  // j/k move through the list (focusing the row, so Enter opens it as any link), r writes a reply; not while typing.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.metaKey || e.ctrlKey || e.altKey || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName) || t.isContentEditable) return;
      if (e.key === 'j' || e.key === 'k') {
        e.preventDefault();
        const rows = [...document.querySelectorAll<HTMLAnchorElement>('.rows a[data-id]')];
        const focused = rows.findIndex((a) => a === document.activeElement);
        const current = focused >= 0 ? focused : rows.findIndex((a) => a.dataset.id === id);
        rows[Math.min(rows.length - 1, Math.max(0, current + (e.key === 'j' ? 1 : -1)))]?.focus();
      } else if (e.key === 'r' && id) {
        e.preventDefault();
        composer.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [id]);

  return (
    <div class={`inbox${id ? ' has-open' : ''}`}>
      <div class="inbox-list">
        <div class="inbox-bar">
          <h1>Inbox</h1>
          <label class="notify-toggle">
            <input type="checkbox" checked={notifyOn.value} onChange={(e) => void setNotify((e.currentTarget as HTMLInputElement).checked)} />
            Notify me
          </label>
        </div>
        <ConversationList filters={filters} openId={id ?? null} onFilters={setFilters} hrefOf={hrefOf} />
      </div>
      <section class="inbox-conversation" aria-label="Conversation">
        {id ? <ConversationView onBack={() => route(`/inbox${search}`)} composerRef={composer} /> : <div class="empty">Pick a conversation.</div>}
      </section>
    </div>
  );
}
