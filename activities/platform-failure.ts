import { ApplicationFailure } from '@temporalio/activity';
import type { PlatformError } from '../src/channels/platform-error';
import { PLATFORM_FAILURE } from '../src/temporal/failure-types';

/**
 * A platform's failure as Temporal's, in one place: its stable type name (matched by retry
 * policies, shown in the Temporal UI), retryable or not as the adapter classified it, and the
 * platform's own delay as the next retry's when it named one.
 */
export function platformFailure(err: PlatformError): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: PLATFORM_FAILURE[err.kind],
    nonRetryable: !err.retryable,
    details: [err.details],
    nextRetryDelay: err.retryable ? err.details.retryAfterMs : undefined,
  });
}
