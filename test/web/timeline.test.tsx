import { render, screen } from '@testing-library/preact';
import { describe, expect, test } from 'vitest';
import type { ConversationItem } from '../../web/src/api/types';
import { activityText, Timeline } from '../../web/src/components/Timeline';
import type { Entry } from '../../web/src/state/conversation';

const at = '2026-12-04T10:00:00.000Z';
const conversation = {
  id: '00000000-0000-4000-8000-000000000001',
  contact: { id: '00000000-0000-4000-8000-000000000002', name: '<b>Mallory</b>', handle: 'mal', platform_user_id: 'mal', username: null },
} as unknown as ConversationItem;
const base = (id: string, seq: number) => ({ id, conversation_id: conversation.id, seq, created_at: at, updated_at: at });
const message = { content_type: 'text', attachments: [], platform_message_id: null, metadata: {} };
const author = { type: 'user' as const, id: '00000000-0000-4000-8000-00000000000a', name: 'Ana Agent' };

describe('the timeline', () => {
  test('each kind of entry in order, customer text as text', () => {
    const entries: Entry[] = [
      { ...base('m1', 1), kind: 'customer_message', direction: 'inbound', status: 'received', content: '<img src=x onerror=alert(1)>', ...message },
      { ...base('n1', 2), kind: 'note', content: 'VIP', author, client_id: null },
      { ...base('r1', 3), kind: 'reply', direction: 'outbound', status: 'failed', attempts: 1, error: 'the bot was blocked by the user', next_attempt_at: null, sent_at: null, author, client_id: null, content: 'Hi', ...message },
      { ...base('a1', 4), kind: 'activity', activity: { type: 'status_changed', from: 'open', to: 'resolved' }, author },
    ];
    render(<Timeline conversation={conversation} entries={entries} />);
    const items = screen.getAllByRole('listitem');
    expect(items.map((li) => li.className.split(' ').slice(0, 2).join(' '))).toEqual(['entry message', 'entry note', 'entry message', 'entry activity']);
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeTruthy();
    expect(document.querySelector('img[src="x"]')).toBeNull();
    expect(screen.getByText(/<b>Mallory<\/b>/)).toBeTruthy();
    expect(screen.getByRole('listitem', { name: 'Private note' }).textContent).toContain('VIP');
    expect(items[2].textContent).toContain('Failed: the bot was blocked by the user');
    expect(items[3].textContent).toContain('Ana Agent marked this resolved');
  });

  test('a reply retrying says which attempt, the last error and when the next try comes', () => {
    const next = new Date(Date.now() + 40_000).toISOString();
    const retrying: Entry = { ...base('r2', 5), kind: 'reply', direction: 'outbound', status: 'pending', attempts: 3, error: 'Telegram answered 502', next_attempt_at: next, sent_at: null, author, client_id: null, content: 'x', ...message };
    render(<Timeline conversation={conversation} entries={[retrying]} />);
    expect(screen.getByText(/Retrying: attempt 3 failed \(Telegram answered 502\); next try in 4\d s/)).toBeTruthy();
  });

  test('a reply sent again after an attempt cut off mid-send says the customer may see it twice; others do not', () => {
    const reply = (id: string, seq: number, uncertain: number) =>
      ({ ...base(id, seq), kind: 'reply', direction: 'outbound', status: 'sent', attempts: 2, error: null, next_attempt_at: null, sent_at: at, author, client_id: null, content: id, ...message, metadata: uncertain ? { uncertain_sends: uncertain } : {} }) as Entry;
    render(<Timeline conversation={conversation} entries={[reply('twice', 1, 1), reply('once', 2, 0)]} />);
    const items = screen.getAllByRole('listitem');
    expect(items[0].textContent).toContain('Sent (may show twice)');
    expect(items[0].querySelector('.uncertain-send')!.getAttribute('title')).toMatch(/cut off before the platform answered/);
    expect(items[1].textContent).toContain('Sent');
    expect(items[1].textContent).not.toContain('twice');
  });

  test("a mail's sender: failed DMARC and not verified say so, a verified one says nothing", () => {
    const mail = (id: string, seq: number, verdict: string) =>
      ({ ...base(id, seq), kind: 'customer_message', direction: 'inbound', status: 'received', content: `mail ${id}`, ...message, metadata: { mail_auth: { verdict, domain: 'bank.example', dmarc: verdict === 'fail' ? 'fail' : 'none', spf: 'fail', dkim: 'none' } } }) as Entry;
    render(<Timeline conversation={conversation} entries={[mail('e1', 1, 'fail'), mail('e2', 2, 'none'), mail('e3', 3, 'pass')]} />);
    const items = screen.getAllByRole('listitem');
    expect(items[0].textContent).toContain('Sender failed DMARC');
    expect(items[0].querySelector('.sender-check')!.getAttribute('title')).toContain('bank.example publishes who may send its mail');
    expect(items[1].textContent).toContain('Sender not verified');
    expect(items[2].textContent).not.toMatch(/Sender/);
  });

  test('activity in words: who, what, and why when PingBack did it', () => {
    expect(activityText({ type: 'assignee_changed', from: null, to: { id: 'u2', name: 'Bo' } }, 'Ana', 'u1')).toBe('Ana assigned this to Bo');
    expect(activityText({ type: 'assignee_changed', from: null, to: { id: 'u1', name: 'Ana' } }, 'Ana', 'u1')).toBe('Ana took this conversation');
    expect(activityText({ type: 'status_changed', from: 'resolved', to: 'open', reason: 'customer_message' }, null)).toBe('The customer wrote: resolved → open');
    expect(activityText({ type: 'status_changed', from: 'snoozed', to: 'open', reason: 'snooze_ended' }, null)).toBe('The snooze ended: open again');
  });
});
