import { useLocation } from 'preact-iso';
import { liveStatus } from '../state/live';
import { isAdmin, me, signOut } from '../state/session';
import { Avatar } from './Avatar';

/** The rail on the left: where an agent can go, who they are, and whether the inbox is live. */
export function Nav() {
  const { path } = useLocation();
  const item = (href: string, label: string, icon: string) => (
    <a href={href} class={`nav-item${path.startsWith(href) ? ' active' : ''}`} aria-current={path.startsWith(href) ? 'page' : undefined}>
      <span class="nav-icon" aria-hidden="true">
        {icon}
      </span>
      <span class="nav-label">{label}</span>
    </a>
  );
  const user = me.value?.user;
  return (
    <nav class="nav" aria-label="Main">
      <a href="/inbox" class="brand" aria-label="PingBack">
        <img src="/favicon.svg" alt="" width={28} height={28} />
      </a>
      {item('/inbox', 'Inbox', '✉')}
      {isAdmin.value && item('/settings', 'Settings', '⚙')}
      <div class="nav-spacer" />
      {liveStatus.value === 'reconnecting' && (
        <span class="live-status" role="status">
          Reconnecting…
        </span>
      )}
      {user && (
        <div class="nav-user">
          <span title={`${user.name} (${user.role})`}>
            <Avatar name={user.name} size={30} />
          </span>
          <button type="button" class="link" onClick={() => signOut().catch((err) => alert(`Signing out failed: ${(err as Error).message}`))}>
            Sign out
          </button>
        </div>
      )}
    </nav>
  );
}
