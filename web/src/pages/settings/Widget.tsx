import { useEffect, useState } from 'preact/hooks';
import { query } from '../../api/client';
import { useChannelConfig } from '../../state/channel-config';
import { ChannelIcon } from '../../components/ChannelIcon';
import { CopyField } from '../../components/CopyField';
import { SchemaForm } from '../../components/SchemaForm';
import { channels, channelTypes, loadChannels, loadChannelTypes } from '../../state/channels';
import { SettingsLayout } from './SettingsLayout';
import { SaveButton } from '../../components/Feedback';

/** The web chat widget of each web chat channel: its sites, words, colour and logo, previewed live, and the tag to embed. */
export function WidgetPage({ id }: { id?: string }) {
  useEffect(() => void (loadChannels(), loadChannelTypes()), []);
  const webchats = channels.value.filter((c) => c.type === 'webchat');
  const channel = webchats.find((c) => c.id === id) ?? (id ? undefined : webchats[0]);
  const info = channelTypes.value?.data.find((t) => t.type === 'webchat');
  const { config, setConfig, errors, message, save } = useChannelConfig(channel, 'Saved: the widget on your site shows it from its next page load.');
  // The preview reloads when typing pauses, not at every key.
  const [previewConfig, setPreviewConfig] = useState<Record<string, unknown> | null>(null);
  useEffect(() => {
    const t = setTimeout(() => setPreviewConfig(config), 400);
    return () => clearTimeout(t);
  }, [config]);
  if (webchats.length === 0) {
    return (
      <SettingsLayout title="Widget">
        <p>
          The widget belongs to a web chat channel. <a href="/settings/channels/new?type=webchat">Connect one</a> first.
        </p>
      </SettingsLayout>
    );
  }
  if (!channel || !info || !config) return <SettingsLayout title="Widget">Loading…</SettingsLayout>;
  const origin = location.origin;
  const snippet = `<script src="${origin}/widget.js" data-channel="${channel.id}" async></script>`;
  const shown = previewConfig ?? config;
  const previewUrl = `/widget-preview${query({
    channel: channel.id,
    welcome_message: shown.welcome_message as string,
    brand_color: shown.brand_color as string,
    logo_url: shown.logo_url as string,
  })}`;
  return (
    <SettingsLayout title="Widget">
      {webchats.length > 1 && (
        <nav class="chips" aria-label="Web chat channels">
          {webchats.map((c) => (
            <a key={c.id} href={`/settings/widget/${c.id}`} aria-current={c.id === channel.id ? 'page' : undefined}>
              <ChannelIcon type="webchat" size={16} /> {c.name}
            </a>
          ))}
        </nav>
      )}
      <div class="widget-settings">
        <form class="form" onSubmit={save} aria-label="Widget settings">
          <SchemaForm schema={info.config_schema} value={config} onChange={setConfig} secretFields={[]} errors={errors} editing />
          <p class="muted small">Allowed domains: the sites that may show the widget (example.com, or *.example.com for its subdomains); none listed: any site.</p>
          <SaveButton message={message} />
          <h2>Embed</h2>
          <CopyField label="Embed snippet" value={snippet} multiline />
          <p class="muted small">Paste it before &lt;/body&gt; on every page the chat should be on.</p>
        </form>
        <div class="widget-preview">
          <h2>Preview</h2>
          <iframe title="Widget preview" src={previewUrl} sandbox="allow-scripts" />
        </div>
      </div>
    </SettingsLayout>
  );
}
