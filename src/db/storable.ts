/**
 * PostgreSQL's text and jsonb hold neither U+0000 nor half of a surrogate pair (an emoji a
 * platform cut in two), and a platform may pass either through from a customer: left in, the
 * write would fail on every retry and hold up the conversation behind it. Both become U+FFFD,
 * in values and keys alike, on the way to any table (messages, ignored_events).
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storable(v)])) as T;
  }
  return value;
}
const storableText = (text: string): string => (text as string & { toWellFormed(): string }).toWellFormed().replace(/\u0000/g, '\uFFFD');
