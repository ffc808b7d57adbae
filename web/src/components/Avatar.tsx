import { initials } from '../lib/format';

/** Initials on a colour picked from the name, so one person keeps one colour. */
export function Avatar({ name, size = 32 }: { name: string | null | undefined; size?: number }) {
  let hash = 0;
  for (const ch of name ?? '') hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return (
    <span class={`avatar avatar-${hash % 8}`} style={{ width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px` }} aria-hidden="true">
      {initials(name)}
    </span>
  );
}
