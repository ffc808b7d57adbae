/**
 * PostgreSQL's word on a failed statement, by SQLSTATE class (postgresql.org/docs/current/errcodes-appendix.html):
 * the data itself cannot be stored (22 data exception: a value too long or malformed; 23 integrity
 * constraint violation; 54 program limit exceeded: an index row over 2.7 KB). The same statement
 * fails the same way every time, so retrying it can only hold up what comes after it.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

/** What a person reading ignored_events needs: the SQLSTATE and PostgreSQL's message. */
export function describeDbError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return `${e.code ?? 'error'}: ${(e.message ?? String(err)).slice(0, 500)}`;
}
