import { defaultPayloadConverter, type Payload } from '@temporalio/common';

/**
 * The Temporal header that carries the ids of the requests behind a signal, an update or an
 * activity (X-Request-Id, src/http/request-id.ts), so the workflow's and the activity's log
 * lines name the request that made the message. Used by the client, the workflows (inside the
 * sandbox: nothing here may need Node) and the worker's activities. A header, not an argument:
 * histories from before replay unchanged, and no workflow or activity signature knows of it.
 */
export const REQUEST_IDS_HEADER = 'pingback-request-ids';

/** A batch of many messages names this many of their requests; the rest are one search away. */
export const MAX_REQUEST_IDS = 20;
const ACCEPTED = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdsHeader(ids: readonly string[]): Record<string, Payload> {
  return { [REQUEST_IDS_HEADER]: defaultPayloadConverter.toPayload(ids.slice(0, MAX_REQUEST_IDS)) };
}

/** The ids in these headers; none for a header that is missing or not one this code wrote (never a failure). */
export function requestIdsFrom(headers: Record<string, Payload> | undefined): string[] {
  const payload = headers?.[REQUEST_IDS_HEADER];
  if (!payload) return [];
  try {
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    if (!Array.isArray(value)) return [];
    return value.filter((id): id is string => typeof id === 'string' && ACCEPTED.test(id)).slice(0, MAX_REQUEST_IDS);
  } catch {
    return [];
  }
}

/** How a log line names them: `request_id` for one, `request_ids` for a batch's several. */
export function requestIdFields(ids: readonly string[]): Record<string, unknown> {
  if (ids.length === 0) return {};
  return ids.length === 1 ? { request_id: ids[0] } : { request_ids: [...ids] };
}

/** The distinct ids of several requests, first seen first. */
export function mergeRequestIds(lists: ReadonlyArray<readonly string[] | undefined>): string[] {
  const all = new Set<string>();
  for (const list of lists) for (const id of list ?? []) if (all.size < MAX_REQUEST_IDS) all.add(id);
  return [...all];
}
