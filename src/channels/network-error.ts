/** What fetch's network failure was (ECONNREFUSED, ENOTFOUND …), without the URL, which may hold a token. */
export function describeNetworkError(err: unknown, timeoutMs: number): string {
  if ((err as Error).name === 'TimeoutError') return `no answer in ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}
