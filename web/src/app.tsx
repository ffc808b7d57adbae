import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { Nav } from './components/Nav';
import { notifyCustomerMessage } from './lib/notify';
import { InboxPage } from './pages/InboxPage';
import { SetPassword } from './pages/SetPassword';
import { SignIn } from './pages/SignIn';
import { ApiKeysPage } from './pages/settings/ApiKeys';
import { ChannelPage, ChannelsPage, ConnectChannelPage } from './pages/settings/Channels';
import { UsersPage } from './pages/settings/Users';
import { WidgetPage } from './pages/settings/Widget';
import { applyChannel, loadChannels, loadTeam } from './state/channels';
import { applyEntry, applyOpenConversation, channelChangedForOpen, openConversation, openId, removeEntry } from './state/conversation';
import { applyConversation, channelChanged, conversations, countUnread, currentFilters, loadInbox } from './state/inbox';
import { connectLive, onEvent, onReset } from './state/live';
import { isAdmin, loadMe, me } from './state/session';

/** Signed in: the live connection, and what every page needs (channels for filters, the team for assigning). */
function Shell({ children }: { children: ComponentChildren }) {
  const { route } = useLocation();
  useEffect(() => {
    void loadChannels();
    void loadTeam();
    const off = [
      onEvent((e) => {
        switch (e.type) {
          case 'conversation.created':
          case 'conversation.updated':
            applyConversation(e.data);
            applyOpenConversation(e.data);
            return;
          case 'message.created':
          case 'message.updated':
            applyEntry(e.data, e.type === 'message.created');
            if (e.type === 'message.created' && e.data.kind === 'customer_message' && (e.data.conversation_id !== openId.value || document.hidden)) {
              // Unread until seen: the open conversation too while the tab is hidden (seen when it shows again).
              countUnread(e.data.conversation_id);
              const c = conversations.value.find((x) => x.id === e.data.conversation_id);
              notifyCustomerMessage(c?.contact.name ?? 'A customer', e.data.content || 'sent a file', () => route(`/inbox/${e.data.conversation_id}`));
            }
            return;
          case 'message.deleted':
            removeEntry(e.data.id);
            return;
          case 'channel.created':
          case 'channel.updated':
            applyChannel(e.data);
            channelChanged(e.data);
            channelChangedForOpen(e.data);
        }
      }),
      // The server could not replay what was missed: reload what is on screen.
      onReset(() => {
        void loadInbox(currentFilters());
        if (openId.value) void openConversation(openId.value, { refresh: true });
        void loadChannels();
      }),
    ];
    const disconnect = connectLive();
    return () => {
      disconnect();
      for (const f of off) f();
    };
  }, []);
  return (
    <div class="shell">
      <Nav />
      <div class="shell-main">{children}</div>
    </div>
  );
}

function NotFound() {
  return (
    <main class="empty">
      <p>There is no page here.</p>
      <a href="/inbox">Go to the inbox</a>
    </main>
  );
}

function AdminOnly({ children }: { children: ComponentChildren }) {
  return isAdmin.value ? <>{children}</> : <main class="empty">Only admins of this account may change its settings.</main>;
}

// Route components at module level: made inline, every render of Pages would remount them.
const SettingsHome = () => {
  const { route } = useLocation();
  useEffect(() => route('/settings/channels', true), []);
  return null;
};
const admin = <P extends object>(Page: (props: P) => preact.JSX.Element) => (props: P) => (
  <AdminOnly>
    <Page {...props} />
  </AdminOnly>
);
const Channels = admin(ChannelsPage);
const ConnectChannel = admin(ConnectChannelPage);
// Keyed by id: another channel's page starts from its own settings.
const Channel = admin(({ id }: { id: string }) => <ChannelPage key={id} id={id} />);
const Widget = admin(({ id }: { id?: string }) => <WidgetPage key={id ?? ''} id={id} />);
const Users = admin(UsersPage);
const ApiKeys = admin(ApiKeysPage);
const Blank = () => null;

function Pages() {
  const { path, route } = useLocation();
  const who = me.value;
  useEffect(() => {
    if (who && (path === '/' || path === '/login')) route('/inbox', true);
  }, [who, path]);
  if (path === '/set-password') return <SetPassword />;
  if (!who) return <SignIn />;
  return (
    <Shell>
      <Router>
        <Route path="/inbox/:id?" component={InboxPage} />
        <Route path="/settings" component={SettingsHome} />
        <Route path="/settings/channels" component={Channels} />
        <Route path="/settings/channels/new" component={ConnectChannel} />
        <Route path="/settings/channels/:id" component={Channel} />
        <Route path="/settings/widget/:id?" component={Widget} />
        <Route path="/settings/users" component={Users} />
        <Route path="/settings/api-keys" component={ApiKeys} />
        <Route path="/" component={Blank} />
        <Route default component={NotFound} />
      </Router>
    </Shell>
  );
}

export function App() {
  useEffect(() => void loadMe(), []);
  if (me.value === undefined) return <div class="empty">Loading…</div>;
  return (
    <LocationProvider>
      <Pages />
    </LocationProvider>
  );
}
