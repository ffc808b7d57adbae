/** Shows enough of a secret to recognise it (its last 4 characters), never enough to use it. */
export function maskSecret(value: string): string {
  return value.length <= 8 ? '********' : `********${value.slice(-4)}`;
}

export function maskConfig(config: Record<string, unknown>, secretFields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const f of secretFields) if (typeof out[f] === 'string') out[f] = maskSecret(out[f] as string);
  return out;
}
