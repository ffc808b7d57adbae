import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError, post } from '../api/client';
import { ErrorLine } from '../components/Feedback';

/** Where an invitation or a password-reset link leads: choose a password, then sign in. */
export function SetPassword() {
  const { query, route } = useLocation();
  const token = query.token ?? '';
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const password = String(form.get('password') ?? '');
    if (password !== String(form.get('confirm') ?? '')) return setError('The two passwords differ.');
    setError(null);
    try {
      await post('/auth/set-password', { token, password });
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_token') setError('This link was used already or has expired. Ask an admin for a new one.');
      else if (err instanceof ApiError && err.fields.length) setError(`The password ${err.fields[0].message}.`);
      else setError((err as Error).message);
    }
  };
  return (
    <main class="auth-page">
      {done ? (
        <div class="auth-card">
          <h1>Your password is set</h1>
          <p>Sign in with your email and the new password.</p>
          <button type="button" class="button primary" onClick={() => route('/login')}>
            Sign in
          </button>
        </div>
      ) : (
        <form class="auth-card" onSubmit={submit}>
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <h1>Choose a password</h1>
          {!token && <p class="field-error">This page needs the link you were given (it carries a token).</p>}
          <label for="password">New password</label>
          <input id="password" name="password" type="password" autoComplete="new-password" minLength={10} required autoFocus />
          <p class="muted small">At least 10 characters.</p>
          <label for="confirm">The same again</label>
          <input id="confirm" name="confirm" type="password" autoComplete="new-password" minLength={10} required />
          <ErrorLine>{error}</ErrorLine>
          <button type="submit" class="button primary" disabled={!token}>
            Set password
          </button>
        </form>
      )}
    </main>
  );
}
