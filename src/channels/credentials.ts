import { SecretBox } from '../crypto/secret-box';
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
  return merge(current, patch, '');
}
