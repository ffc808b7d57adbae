import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError, type FieldError, get, patch, post } from '../../api/client';
import { useChannelConfig } from '../../state/channel-config';
import type { Channel, ChannelTypeInfo } from '../../api/types';
import { CHANNEL_DISPLAY_NAMES } from '../../api/types';
import { ChannelIcon } from '../../components/ChannelIcon';
import { CopyField } from '../../components/CopyField';
import { compact, defaultsOf, SchemaForm } from '../../components/SchemaForm';
import { channels, channelTypes, loadChannels, loadChannelTypes } from '../../state/channels';
import { me } from '../../state/session';
import { SettingsLayout } from './SettingsLayout';
import { ActionsHeader, ConfirmDialog, ErrorLine, SaveButton } from '../../components/Feedback';

const STATUS_LABEL = { pending: 'Pending', connected: 'Connected', error: 'Error', reconnect_required: 'Reconnect required' } as const;

export function PlanUsage() {
  const types = channelTypes.value;
  const account = me.value?.account;
  if (!types || !account) return null;
  const { active_channels: used, max_active_channels: max } = types.usage;
  return (
    <p class="plan-usage">
      <strong>
        {used} of {max}
      </strong>{' '}
      active channel{max === 1 ? '' : 's'} on the <strong>{types.plan}</strong> plan
      <progress value={used} max={max} aria-label="Active channels used" />
    </p>
  );
}

/** Turning a channel off keeps its conversations; replies stop until it is on again. */
export function ActiveToggle({ channel, onDone }: { channel: Channel; onDone?: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = async (is_active: boolean) => {
    setError(null);
    try {
      await patch(`/api/channels/${channel.id}`, { is_active });
      setConfirming(false);
      await Promise.all([loadChannels(), loadChannelTypes()]);
      onDone?.();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (!channel.is_active) {
    return (
      <span>
        <button type="button" class="button secondary" onClick={() => void set(true)}>
          Activate
        </button>
        {error && <span class="field-error" role="alert"> {error}</span>}
      </span>
    );
  }
  return confirming ? (
    <ConfirmDialog label={`Deactivate ${channel.name}?`} confirm="Deactivate" onConfirm={() => void set(false)} onCancel={() => setConfirming(false)} error={error}>
      Deactivate <strong>{channel.name}</strong>? Its conversations are kept, and new customer messages are set aside; replies stop until you activate it again.
    </ConfirmDialog>
  ) : (
    <button type="button" class="button secondary" onClick={() => setConfirming(true)} aria-label={`Deactivate ${channel.name}`}>
      Deactivate
    </button>
  );
}

/** GET /api/channels/:id/health. */
interface Health {
  ok: boolean;
  checked_at: string;
  account: string | null;
  problems: string[];
}

/** Asks the platform now how the channel stands, and shows what it said. */
function HealthCheck({ channel }: { channel: Channel }) {
  const [health, setHealth] = useState<Health | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const check = async () => {
    setBusy(true);
    setError(null);
    try {
      setHealth(await get<Health>(`/api/channels/${channel.id}/health`));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="health-heading">
      <h2 id="health-heading">Health</h2>
      <p>
        <button type="button" class="button secondary" disabled={busy} onClick={() => void check()}>
          {busy ? 'Asking…' : `Ask ${CHANNEL_DISPLAY_NAMES[channel.type]} now`}
        </button>{' '}
        {health && (
          <span role="status" class={health.ok ? 'health ok' : 'health problem'}>
            {health.ok ? `All well${health.account ? ` (${health.account})` : ''}.` : health.problems.join('; ')}
          </span>
        )}
      </p>
      <ErrorLine>{error}</ErrorLine>
    </section>
  );
}

/** What replacing a channel's secrets means on its platform's side. */
const ROTATE_CONSEQUENCE: Record<Channel['type'], string> = {
  telegram: "PingBack registers Telegram's webhook again with the new secret; updates signed with the old one are refused.",
  whatsapp: 'Paste the new verify token into the webhook settings of your Meta app; the old one no longer verifies the callback URL.',
  instagram: 'Paste the new verify token into the webhook settings of your Meta app; the old one no longer verifies the callback URL.',
  email: 'Give your mail provider the new verify token (the password in the callback URL); mail posted with the old one is refused.',
  webchat: 'Visitors chatting now start new sessions; their conversations stay in the inbox.',
  x: 'Nothing changes at X: its webhook is signed with your app’s consumer secret.',
};

/** New webhook secret and verify token, for when one may have leaked: the old ones stop working at once. */
function RotateSecrets({ channel }: { channel: Channel }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const rotate = async () => {
    setError(null);
    try {
      await post(`/api/channels/${channel.id}/rotate-secrets`, {});
      setConfirming(false);
      setDone(true);
      await loadChannels();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <section aria-labelledby="rotate-heading">
      <h2 id="rotate-heading">Secrets</h2>
      {confirming ? (
        <ConfirmDialog label={`Replace the secrets of ${channel.name}?`} confirm="Replace secrets" onConfirm={() => void rotate()} onCancel={() => setConfirming(false)} error={error}>
          Replace the webhook secret and verify token of <strong>{channel.name}</strong>? The old ones stop working at once. {ROTATE_CONSEQUENCE[channel.type]}
        </ConfirmDialog>
      ) : (
        <p>
          <button type="button" class="button secondary" onClick={() => (setDone(false), setConfirming(true))}>
            Replace secrets…
          </button>{' '}
          {done ? (
            <span role="status">Replaced. {ROTATE_CONSEQUENCE[channel.type]}</span>
          ) : (
            <span class="muted">If a secret of this channel may have leaked.</span>
          )}
        </p>
      )}
    </section>
  );
}

export function ChannelsPage() {
  useEffect(() => void (loadChannels(), loadChannelTypes()), []);
  return (
    <SettingsLayout title="Channels">
      <p>
        <a class="button primary" href="/settings/channels/new">
          Connect a channel
        </a>
      </p>
      <table class="table" aria-label="Channels">
        <thead>
          <tr>
            <th>Channel</th>
            <th>Status</th>
            <th>Active</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {channels.value.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={`/settings/channels/${c.id}`} class="channel-name">
                  <ChannelIcon type={c.type} /> {c.name}
                </a>
              </td>
              <td>
                <span class={`status-badge ${c.status}`}>{STATUS_LABEL[c.status]}</span>
                {c.status_message && <span class="muted small"> {c.status_message}</span>}
              </td>
              <td>{c.is_active ? 'Active' : 'Off'}</td>
              <td>
                <ActiveToggle channel={c} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {channels.value.length === 0 && <p class="empty">No channels yet: connect one to start receiving messages.</p>}
    </SettingsLayout>
  );
}

/** Choose a type (the plan's locked ones say why), then fill in its form. */
export function ConnectChannelPage() {
  const { query, route } = useLocation();
  useEffect(() => void loadChannelTypes(), []);
  const types = channelTypes.value?.data ?? [];
  const chosen = types.find((t) => t.type === query.type);
  return (
    <SettingsLayout title={chosen ? `Connect ${chosen.display_name}` : 'Connect a channel'}>
      {!chosen ? (
        <ul class="type-cards" aria-label="Channel types">
          {types.map((t) => (
            <li key={t.type}>
              <button
                type="button"
                class="type-card"
                // Locked types stay focusable, so the reason is reachable by keyboard and read out.
                aria-disabled={!t.allowed}
                onClick={() => t.allowed && route(`/settings/channels/new?type=${t.type}`)}
                aria-describedby={t.allowed ? undefined : `why-${t.type}`}
              >
                <ChannelIcon type={t.type} size={32} />
                <strong>{t.display_name}</strong>
                {!t.allowed && (
                  <span id={`why-${t.type}`} class="locked">
                    🔒 {t.blocked_reason}
                  </span>
                )}
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <ConnectForm info={chosen} onCreated={(c) => route(`/settings/channels/${c.id}`)} />
      )}
    </SettingsLayout>
  );
}

function ConnectForm({ info, onCreated }: { info: ChannelTypeInfo; onCreated(c: Channel): void }) {
  const [name, setName] = useState(`${info.display_name}`);
  const [config, setConfig] = useState<Record<string, unknown>>(() => defaultsOf(info.config_schema));
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors([]);
    setError(null);
    try {
      const created = await post<Channel>('/api/channels', { type: info.type, name: name.trim() || undefined, config: compact(config) });
      await loadChannels();
      onCreated(created);
    } catch (err) {
      if (err instanceof ApiError && err.fields.length) {
        setErrors(err.fields);
        const unplaced = err.fields.filter((f) => f.path === '(root)');
        setError(unplaced.length ? unplaced.map((f) => f.message).join('; ') : 'Some fields need another look.');
      } else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form" onSubmit={submit} aria-label={`Connect ${info.display_name}`}>
      <p class="instructions">{info.instructions}</p>
      <div class="field">
        <label for="channel-name">Name</label>
        <input id="channel-name" value={name} maxLength={200} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <SchemaForm schema={info.config_schema} value={config} onChange={setConfig} secretFields={info.secret_fields} errors={errors} />
      <ErrorLine>{error}</ErrorLine>
      <button type="submit" class="button primary" disabled={busy}>
        {busy ? 'Connecting…' : 'Connect'}
      </button>{' '}
      <a href="/settings/channels/new" class="button secondary">
        Back
      </a>
    </form>
  );
}

/** One channel: its state (live), where to paste what on the platform's side, its settings. */
export function ChannelPage({ id }: { id: string }) {
  useEffect(() => void (loadChannels(), loadChannelTypes()), [id]);
  const channel = channels.value.find((c) => c.id === id);
  const info = channelTypes.value?.data.find((t) => t.type === channel?.type);
  const { config, setConfig, errors, message, save } = useChannelConfig(channel, 'Saved.');
  if (!channel) return <SettingsLayout title="Channel">{channels.value.length ? <p>No such channel.</p> : <p>Loading…</p>}</SettingsLayout>;
  return (
    <SettingsLayout title={channel.name}>
      <p class="channel-heading">
        <ChannelIcon type={channel.type} size={24} /> {CHANNEL_DISPLAY_NAMES[channel.type]} ·{' '}
        <span class={`status-badge ${channel.status}`} role="status">
          {STATUS_LABEL[channel.status]}
        </span>{' '}
        {channel.status_message && <span class="muted">{channel.status_message}</span>} · {channel.is_active ? 'Active' : 'Off'}
      </p>
      <ActiveToggle channel={channel} />
      {info && <p class="instructions">{info.instructions}</p>}
      {channel.type === 'webchat' ? (
        <p>
          <a href={`/settings/widget/${channel.id}`}>Set up the widget for this channel</a>
        </p>
      ) : (
        channel.setup === 'console' &&
        channel.callback_url && (
          <div class="copy-fields">
            <CopyField label="Callback URL" value={channel.callback_url} />
            {channel.verify_token && <CopyField label="Verify token" value={channel.verify_token} />}
          </div>
        )
      )}
      {info && config && (
        <form class="form" onSubmit={save} aria-label="Channel settings">
          <h2>Settings</h2>
          <SchemaForm schema={info.config_schema} value={config} onChange={setConfig} secretFields={info.secret_fields} errors={errors} editing />
          <SaveButton message={message} />
        </form>
      )}
      <HealthCheck key={`health-${channel.id}`} channel={channel} />
      <RotateSecrets key={channel.id} channel={channel} />
    </SettingsLayout>
  );
}
