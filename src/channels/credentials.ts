import { randomBytes } from 'node:crypto';
import { SecretBox } from '../crypto/secret-box';
import { AppError } from '../errors';
import { adapterFor } from '.';
import { maskConfig, maskSecret } from './mask';
import { isObject, mapSecretPaths } from './secret-paths';
import type { ChannelType } from './types';

type Config = Record<string, unknown>;

/** Where a sealed value of a channel lives: it opens only there (see SecretBox). */
const boundTo = (channelId: string, field: string) => `channel/${channelId}/${field}`;

/** Seals every credential of a validated config before it is stored, bound to its channel and field. */
export function sealConfig(box: SecretBox, type: ChannelType, config: Config, channelId: string): Config {
  // Everything reaching here is plaintext (PATCH opens the stored config before merging),
  // so a value that merely looks sealed is sealed too, never stored as if it were.
  return mapSecretPaths(config, adapterFor(type).secretFields, (v, path) => (typeof v === 'string' ? box.seal(v, boundTo(channelId, `config/${path}`)) : v));
}

/** The config as the adapter needs it, credentials in the clear. Only activities and ingress verification call this. */
export function openConfig(box: SecretBox, type: ChannelType, config: Config, channelId: string): Config {
  return mapSecretPaths(config, adapterFor(type).secretFields, (v, path) => (SecretBox.isSealed(v) ? box.open(v, boundTo(channelId, `config/${path}`)) : v));
}

/** What API answers show: credentials masked. */
export function presentConfig(box: SecretBox, type: ChannelType, stored: Config, channelId: string): Config {
  return maskConfig(openConfig(box, type, stored, channelId), adapterFor(type).secretFields);
}

/**
 * The secrets PingBack itself issues a channel: `webhook_secret` (Telegram's secret_token,
 * the key visitor tokens are signed with) and `verify_token` (Meta's handshake token, the
 * email webhook's password). Stored sealed like credentials.
 */
export type ChannelSecretField = 'webhook_secret' | 'verify_token';
export const CHANNEL_SECRET_FIELDS: readonly ChannelSecretField[] = ['webhook_secret', 'verify_token'];

/** A new random secret: URL-safe and within Telegram's secret_token alphabet (A-Z a-z 0-9 _ -). */
export const newChannelSecret = (): string => randomBytes(24).toString('base64url');

export const sealChannelSecret = (box: SecretBox, channelId: string, field: ChannelSecretField, value: string): string =>
  box.seal(value, boundTo(channelId, field));

/** A channel's own secret in the clear; a row from before they were sealed holds it as it is, until `pingback migrate` seals it. */
export const openChannelSecret = (box: SecretBox, row: { id: string } & Record<ChannelSecretField, string>, field: ChannelSecretField): string =>
  SecretBox.isSealed(row[field]) ? box.open(row[field], boundTo(row.id, field)) : row[field];

/**
 * Every sealed or sealable value of a channel row re-sealed with the current key, bound to
 * the row: what `pingback keys rotate` writes. Undefined when all of it is current already.
 */
export function resealChannel(
  box: SecretBox,
  row: { id: string; type: ChannelType; config: Config } & Record<ChannelSecretField, string>,
): { config: Config; webhook_secret: string; verify_token: string; values: number } | undefined {
  let values = 0;
  const reseal = (v: unknown, bound: string) => {
    if (typeof v !== 'string') return v;
    if (SecretBox.isSealed(v) && box.isCurrent(v)) {
      box.open(v, bound); // proves it opens where it is, so a broken value is reported, not kept
      return v;
    }
    values++;
    return box.seal(SecretBox.isSealed(v) ? box.open(v, bound) : v, bound);
  };
  const config = mapSecretPaths(row.config, adapterFor(row.type).secretFields, (v, path) => reseal(v, boundTo(row.id, `config/${path}`)));
  const webhook_secret = reseal(row.webhook_secret, boundTo(row.id, 'webhook_secret')) as string;
  const verify_token = reseal(row.verify_token, boundTo(row.id, 'verify_token')) as string;
  return values === 0 ? undefined : { config, webhook_secret, verify_token, values };
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
