import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failures as Temporal stores them, with their message and stack trace moved into an encoded
 * attributes payload (`encodeCommonAttributes`), which the payload codec then encrypts: an SMTP
 * refusal quoting a customer's address, a platform's error naming a number, would otherwise sit in
 * the history in the clear. Loaded by path (failureConverterPath) in the workflow bundle and the
 * worker and the api's client alike.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
export const failureConverterPath = __filename;
