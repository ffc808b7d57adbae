/**
 * Applies `fn` to the value at each dotted path (`smtp.password`) of a config,
 * returning a copy that shares nothing with the input. Paths that are absent
 * (a branch of a union the config did not take) are skipped. Masking, sealing
 * and opening credentials all walk configs this way.
 */
export function mapSecretPaths(
  config: Record<string, unknown>,
  paths: readonly string[],
  fn: (value: unknown, path: string) => unknown,
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const path of paths) apply(out, path.split('.'), (v) => fn(v, path));
  return out;
}

function apply(obj: Record<string, unknown>, [key, ...rest]: string[], fn: (v: unknown) => unknown): void {
  if (!Object.hasOwn(obj, key)) return;
  const value = obj[key];
  if (rest.length === 0) obj[key] = fn(value);
  else if (isObject(value)) apply(value, rest, fn);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
