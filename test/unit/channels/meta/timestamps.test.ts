import { metaTimestamp } from '../../../../src/channels/meta/events';

test("Meta's timestamps: seconds as strings, milliseconds as numbers, and nothing for what no date can be", () => {
  expect(metaTimestamp('1749416383')).toBe('2025-06-08T20:59:43.000Z');
  expect(metaTimestamp(1661141837537)).toBe('2022-08-22T04:17:17.537Z');
  // Found by the fuzz suite: a timestamp past what a Date holds made the webhook answer 500.
  expect(metaTimestamp(3.6681780904669303e46)).toBeUndefined();
  expect(metaTimestamp(8.64e15 + 1)).toBeUndefined();
  expect(metaTimestamp('not a time')).toBeUndefined();
  expect(metaTimestamp(-5)).toBeUndefined();
});
