import { computed, signal } from '@preact/signals';
import { get, post, setCsrfToken, whenSignedOut } from '../api/client';
import type { Me } from '../api/types';

/** undefined while loading, null when signed out. */
export const me = signal<Me | null | undefined>(undefined);
export const isAdmin = computed(() => me.value?.role === 'admin');

/**
 * A session that ended (signed out elsewhere, disabled, expired): a fresh page load to the sign-in
 * page, so nothing of the account stays in this tab's memory for whoever signs in next.
 */
whenSignedOut(() => {
  setCsrfToken(null);
  // replace: Back must not bring the account's page back from the browser's cache.
  if (me.value) location.replace('/login');
  else me.value = null;
});

export async function loadMe(): Promise<void> {
  try {
    const who = await get<Me>('/api/me');
    setCsrfToken(who.csrf_token);
    me.value = who;
  } catch {
    me.value = null;
  }
}

export async function signIn(email: string, password: string): Promise<void> {
  await post('/auth/login', { email, password });
  await loadMe();
}

/** Signs out, then a fresh page: nothing of the account stays in memory or in the tab's history. */
export async function signOut(): Promise<void> {
  await post('/auth/logout');
  location.replace('/login');
}
