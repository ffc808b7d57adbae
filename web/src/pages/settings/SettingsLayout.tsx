import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { loadChannelTypes } from '../../state/channels';
import { PlanUsage } from './Channels';

const SECTIONS = [
  ['/settings/channels', 'Channels'],
  ['/settings/widget', 'Widget'],
  ['/settings/users', 'Users'],
  ['/settings/api-keys', 'API keys'],
] as const;

/** The admins' pages, under one header with their sections. */
export function SettingsLayout({ title, children }: { title: string; children: ComponentChildren }) {
  const { path } = useLocation();
  // The plan's usage is in view on every settings page, and follows every change.
  useEffect(() => void loadChannelTypes(), [path]);
  return (
    <div class="settings">
      <nav class="settings-nav" aria-label="Settings">
        {SECTIONS.map(([href, label]) => (
          <a key={href} href={href} aria-current={path.startsWith(href) ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <main class="settings-main">
        <h1>{title}</h1>
        <PlanUsage />
        {children}
      </main>
    </div>
  );
}
