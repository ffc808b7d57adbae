import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import { signIn } from '../state/session';
import { ErrorLine } from '../components/Feedback';

export function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await signIn(String(form.get('email') ?? ''), String(form.get('password') ?? ''));
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const minutes = Math.max(1, Math.ceil((err.retryAfterSeconds ?? 60) / 60));
        setError(`Too many failed sign-ins. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`);
      } else if (err instanceof ApiError && (err.status === 401 || err.status === 422)) {
        setError('The email or the password is wrong.');
      } else {
        setError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="auth-page">
      <form class="auth-card" onSubmit={submit}>
        <img src="/favicon.svg" alt="" width={40} height={40} />
        <h1>Sign in to PingBack</h1>
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autoComplete="username" required autoFocus />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        <ErrorLine>{error}</ErrorLine>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p class="muted small">Forgot your password? Ask an admin of your account for a reset link.</p>
      </form>
    </main>
  );
}
