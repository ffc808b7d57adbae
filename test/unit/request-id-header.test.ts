import { defaultPayloadConverter } from '@temporalio/common';
import { MAX_REQUEST_IDS, mergeRequestIds, requestIdFields, requestIdsFrom, requestIdsHeader, REQUEST_IDS_HEADER } from '../../src/temporal/request-id-header';

test('request ids go through a Temporal header and back', () => {
  expect(requestIdsFrom(requestIdsHeader(['a-1', 'b.2']))).toEqual(['a-1', 'b.2']);
  expect(requestIdsFrom(requestIdsHeader(Array.from({ length: 50 }, (_, i) => `r${i}`)))).toHaveLength(MAX_REQUEST_IDS);
});

test("a header this code did not write is no ids, never a failure (another client's, or bytes that are not JSON)", () => {
  expect(requestIdsFrom(undefined)).toEqual([]);
  expect(requestIdsFrom({})).toEqual([]);
  expect(requestIdsFrom({ [REQUEST_IDS_HEADER]: defaultPayloadConverter.toPayload('just one') })).toEqual([]);
  expect(requestIdsFrom({ [REQUEST_IDS_HEADER]: defaultPayloadConverter.toPayload(['ok', 7, 'not ok\n', 'x'.repeat(200)]) })).toEqual(['ok']);
  expect(requestIdsFrom({ [REQUEST_IDS_HEADER]: { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{') } })).toEqual([]);
});

test('a log line names one request as request_id, a batch as request_ids, each once', () => {
  expect(requestIdFields([])).toEqual({});
  expect(requestIdFields(['a'])).toEqual({ request_id: 'a' });
  expect(requestIdFields(mergeRequestIds([['a', 'b'], undefined, ['b', 'c']]))).toEqual({ request_ids: ['a', 'b', 'c'] });
});
