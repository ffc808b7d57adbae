import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES, PlatformError } from '../src/channels/platform-error';

/**
 * A platform's failure as Temporal's, in one place: its stable type name (matched by retry
 * policies, shown in the Temporal UI), retryable or not as the adapter classified it, and the
 * platform's own delay as the next retry's when it named one.
 */
export function platformFailure(err: PlatformError): ApplicationFailure {
  return ApplicationFailure.create({
    message: err.message,
    type: FAILURE_TYPES[err.kind],
    nonRetryable: !err.retryable,
    details: [err.details],
    nextRetryDelay: err.retryable ? err.details.retryAfterMs : undefined,
  });
}
