import { mapSecretPaths } from './secret-paths';

/** Shows enough of a secret to recognise it (its last 4 characters), never enough to use it. */
export function maskSecret(value: string): string {
  return value.length <= 8 ? '********' : `********${value.slice(-4)}`;
}

/**
 * A copy of `config` with each secret path masked. A secret that is not a
 * string (a malformed stored config) is hidden entirely rather than shown.
 */
export function maskConfig(config: Record<string, unknown>, secretFields: readonly string[]): Record<string, unknown> {
  return mapSecretPaths(config, secretFields, (v) => (typeof v === 'string' ? maskSecret(v) : v == null ? v : '********'));
}
