import { SecretBox } from '../crypto/secret-box';
import { AppError } from '../errors';
import { adapterFor } from '.';
import { maskConfig, maskSecret } from './mask';
import { isObject, mapSecretPaths } from './secret-paths';
import type { ChannelType } from './types';

type Config = Record<string, unknown>;

/** Seals every credential of a validated config before it is stored. */
export function sealConfig(box: SecretBox, type: ChannelType, config: Config): Config {
  // Everything reaching here is plaintext (PATCH opens the stored config before merging),
  // so a value that merely looks sealed is sealed too, never stored as if it were.
  return mapSecretPaths(config, adapterFor(type).secretFields, (v) => (typeof v === 'string' ? box.seal(v) : v));
}

/** The config as the adapter needs it, credentials in the clear. Only activities and ingress verification call this. */
export function openConfig(box: SecretBox, type: ChannelType, config: Config): Config {
  return mapSecretPaths(config, adapterFor(type).secretFields, (v) => (SecretBox.isSealed(v) ? box.open(v) : v));
}

/** What API answers show: credentials masked. */
export function presentConfig(box: SecretBox, type: ChannelType, stored: Config): Config {
  return maskConfig(openConfig(box, type, stored), adapterFor(type).secretFields);
}

/**
 * A PATCH of a config: objects merge key by key, anything else replaces, `null`
 * removes an optional key. A secret sent back exactly as the API showed it masked
 * keeps the stored secret, so a dashboard can round-trip the form.
 */
export function mergeConfigPatch(type: ChannelType, current: Config, patch: Config): Config {
  const secretPaths = new Set(adapterFor(type).secretFields);
  const merge = (cur: Config, p: Config, prefix: string): Config => {
    const out: Config = { ...cur };
    for (const [k, v] of Object.entries(p)) {
      const path = prefix + k;
      if (v === null) delete out[k];
      else if (isObject(v) && isObject(cur[k])) out[k] = merge(cur[k] as Config, v, path + '.');
      else if (secretPaths.has(path) && typeof v === 'string' && typeof cur[k] === 'string' && v === maskSecret(cur[k] as string)) continue;
      else out[k] = v;
    }
    return out;
  };
  const merged = merge(current, patch, '');
  requireRebound(adapterFor(type).secretBindings ?? {}, current, patch, merged);
  return merged;
}

/**
 * 422 when a PATCH moves a credential to other settings (another server, port or login)
 * without sending it again: the stored one was typed for the old server, and the new one
 * could be anyone's.
 */
function requireRebound(bindings: Readonly<Record<string, readonly string[]>>, current: Config, patch: Config, merged: Config): void {
  const fields: Array<{ path: string; message: string }> = [];
  for (const [secret, settings] of Object.entries(bindings)) {
    const stored = valueAt(current, secret);
    const sent = valueAt(patch, secret);
    const sentAnew = typeof sent === 'string' && !(typeof stored === 'string' && sent === maskSecret(stored));
    const moved = settings.filter((s) => valueAt(merged, s) !== valueAt(current, s) && valueAt(current, s) !== undefined);
    if (!sentAnew && stored !== undefined && valueAt(merged, secret) === stored && moved.length > 0) {
      fields.push({ path: secret, message: `is required again when ${moved.join(', ')} changes: a stored password is never sent to another server` });
    }
  }
  if (fields.length > 0) {
    throw new AppError(422, 'validation_failed', `config is invalid: ${fields.map((f) => `${f.path}: ${f.message}`).join('; ')}`, { fields });
  }
}

const valueAt = (config: Config, path: string): unknown =>
  path.split('.').reduce<unknown>((v, key) => (isObject(v) && Object.hasOwn(v, key) ? v[key] : undefined), config);
