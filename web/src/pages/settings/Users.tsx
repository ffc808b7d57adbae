import { useEffect, useState } from 'preact/hooks';
import { ApiError, type FieldError, patch, post } from '../../api/client';
import type { User } from '../../api/types';
import { CopyField } from '../../components/CopyField';
import { loadTeam, team } from '../../state/channels';
import { me } from '../../state/session';
import { SettingsLayout } from './SettingsLayout';
import { ErrorLine, ActionsHeader } from '../../components/Feedback';

/** The team: invite with a link to pass on (PingBack sends no mail yet), roles, disabling, reset links. */
export function UsersPage() {
  useEffect(() => void loadTeam(), []);
  const [link, setLink] = useState<{ label: string; url: string } | null>(null);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [error, setError] = useState<string | null>(null);
  const invite = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setErrors([]);
    setError(null);
    try {
      const res = await post<{ invitation_url: string; user: User }>('/api/users/invitations', {
        email: String(data.get('email') ?? ''),
        name: String(data.get('name') ?? ''),
        role: String(data.get('role') ?? 'agent'),
      });
      setLink({ label: `Invitation link for ${res.user.email}`, url: res.invitation_url });
      form.reset();
      await loadTeam();
    } catch (err) {
      if (err instanceof ApiError) setErrors(err.fields);
      setError((err as Error).message);
    }
  };
  const act = async (run: () => Promise<unknown>) => {
    setError(null);
    try {
      await run();
      await loadTeam();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const fieldError = (path: string) => errors.find((f) => f.path === path)?.message;
  return (
    <SettingsLayout title="Users">
      <form class="form inline-form" onSubmit={invite} aria-label="Invite a user">
        <div class="field">
          <label for="invite-email">Email</label>
          <input id="invite-email" name="email" type="email" required aria-invalid={!!fieldError('email')} />
          {fieldError('email') && <p class="field-error">{fieldError('email')}</p>}
        </div>
        <div class="field">
          <label for="invite-name">Name</label>
          <input id="invite-name" name="name" required />
        </div>
        <div class="field">
          <label for="invite-role">Role</label>
          <select id="invite-role" name="role">
            <option value="agent">Agent</option>
            <option value="admin">Admin</option>
          </select>
        </div>
        <button type="submit" class="button primary">
          Invite
        </button>
      </form>
      {link && (
        <div class="notice" role="status">
          <CopyField label={link.label} value={link.url} />
          <p class="muted small">Single use, valid for 7 days. PingBack sends no email yet: pass it on yourself.</p>
        </div>
      )}
      <ErrorLine>{error}</ErrorLine>
      <table class="table" aria-label="Users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <ActionsHeader />
          </tr>
        </thead>
        <tbody>
          {team.value.map((u) => (
            <tr key={u.id}>
              <td>
                {u.name}
                {u.id === me.value?.user?.id && <span class="muted"> (you)</span>}
              </td>
              <td>{u.email}</td>
              <td>
                <label class="sr-only" for={`role-${u.id}`}>
                  Role of {u.name}
                </label>
                <select id={`role-${u.id}`} value={u.role} onChange={(e) => void act(() => patch(`/api/users/${u.id}`, { role: (e.currentTarget as HTMLSelectElement).value }))}>
                  <option value="agent">Agent</option>
                  <option value="admin">Admin</option>
                </select>
              </td>
              <td>{u.status}</td>
              <td class="actions">
                <button
                  type="button"
                  class="button secondary"
                  onClick={() =>
                    void act(async () => {
                      const r = await post<{ reset_url: string }>(`/api/users/${u.id}/password-reset`);
                      setLink({ label: `Password link for ${u.email}`, url: r.reset_url });
                    })
                  }
                  disabled={u.status === 'disabled'}
                  aria-label={`Password link for ${u.name}`}
                >
                  Password link
                </button>{' '}
                <button
                  type="button"
                  class="button secondary"
                  aria-label={`${u.status === 'disabled' ? 'Enable' : 'Disable'} ${u.name}`}
                  onClick={() => void act(() => patch(`/api/users/${u.id}`, { disabled: u.status !== 'disabled' }))}
                >
                  {u.status === 'disabled' ? 'Enable' : 'Disable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </SettingsLayout>
  );
}
