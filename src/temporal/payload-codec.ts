import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { SecretBox } from '../crypto/secret-box';
import { failureConverterPath } from './failure-converter';

/** How an encrypted payload says what it is (the metadata Temporal's encryption samples use). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
/** Bound into every payload's seal: a payload is only ever opened as one. */
const BOUND_TO = 'temporal-payload';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/**
 * Customers' words out of Temporal: every payload the api and the worker write (signal and
 * update arguments, workflow inputs and results, activity arguments, queries, memos) is the
 * whole original payload, AES-256-GCM sealed with a key derived from PINGBACK_ENCRYPTION_KEY for
 * this purpose alone, its key id in the metadata. Old keys (PINGBACK_ENCRYPTION_OLD_KEYS) still
 * open what they sealed, so a history written before a rotation stays readable for as long as
 * the old key is kept (at least the namespace's retention). Payloads written without the codec
 * (an older PingBack, a plain client) pass through as they are.
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly box: SecretBox;

  constructor(secrets: SecretBox) {
    this.box = secrets.for('temporal-payloads');
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      const { keyId, sealed } = this.box.sealBytes(temporal.api.common.v1.Payload.encode(p).finish(), BOUND_TO);
      return { metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID]: utf8(keyId) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (text(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const keyId = text(p.metadata?.[KEY_ID]);
      if (!keyId || !p.data) throw new Error('an encrypted payload without its key id or data');
      return temporal.api.common.v1.Payload.decode(this.box.openBytes(keyId, p.data, BOUND_TO));
    });
  }
}

/** What every PingBack client and worker converts payloads and failures with (failures: failure-converter.ts, loaded by path, as the workflow bundle names it too). */
export const dataConverterFor = (secrets: SecretBox): DataConverter => ({ payloadCodecs: [new PayloadEncryptionCodec(secrets)], failureConverterPath });
