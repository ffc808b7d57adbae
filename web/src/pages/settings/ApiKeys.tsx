import { useEffect, useState } from 'preact/hooks';
import { del, get, post } from '../../api/client';
import type { ApiKey } from '../../api/types';
import { CopyField } from '../../components/CopyField';
import { fullTime } from '../../lib/format';
import { SettingsLayout } from './SettingsLayout';
import { ErrorLine, ActionsHeader } from '../../components/Feedback';

/** Keys for integrations: shown once at creation, revocable. */
export function ApiKeysPage() {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => setKeys((await get<{ data: ApiKey[] }>('/api/api-keys')).data);
  useEffect(() => void load(), []);
  const create = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    setError(null);
    try {
      const r = await post<{ api_key: string }>('/api/api-keys', { name: String(new FormData(form).get('name') ?? '') || 'default' });
      setCreated(r.api_key);
      form.reset();
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <SettingsLayout title="API keys">
      <form class="form inline-form" onSubmit={create} aria-label="Create an API key">
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" name="name" placeholder="e.g. CRM sync" maxLength={100} />
        </div>
        <button type="submit" class="button primary">
          Create key
        </button>
      </form>
      {created && (
        <div class="notice" role="status">
          <CopyField label="New API key" value={created} />
          <p class="muted small">Shown only now: PingBack keeps a hash of it. It acts for the whole account, as an admin does.</p>
        </div>
      )}
      <ErrorLine>{error}</ErrorLine>
      <table class="table" aria-label="API keys">
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Created</th>
            <th>Last used</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{fullTime(k.created_at)}</td>
              <td>{k.last_used_at ? fullTime(k.last_used_at) : 'never'}</td>
              <td>
                {k.revoked_at ? (
                  <span class="muted">revoked</span>
                ) : (
                  <button type="button" class="button secondary" aria-label={`Revoke ${k.name}`} onClick={() => void del(`/api/api-keys/${k.id}`).then(load)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </SettingsLayout>
  );
}
