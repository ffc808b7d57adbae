import { Client } from 'pg';
import { migrateLatest, recreateDatabase } from '../../src/db/migrate';
import { accountWithAdmin, invite, Session } from '../helpers/agents';
import { Stack, startStack } from '../helpers/stack';
import { seedInbox, SeededInbox } from '../bench/seed-inbox';

/**
 * The inbox's queries use indexes at a size where a scan of the table would cost: two
 * accounts of 20,000 conversations and ~200,000 messages each, and no plan of the API's
 * inbox requests reads conversations or messages whole. The SQL is what the API itself
 * sent for each request (every query it ran, captured from its knex instance), so the test
 * checks the builders as they run, the route's defaults and the timeline's lookups included.
 */
const CONVERSATIONS = 20_000;
const url = new URL(process.env.TEST_DATABASE_URL!);
url.pathname = '/pingback_plans_test';

let stack: Stack;
/** Its own connection, so its EXPLAINs are not among the queries captured. */
let explainer: Client;
let agent: Session;
let admin: Session;
let inbox: SeededInbox;
/** An order number one message of the account names. */
let orderNumber: string;

beforeAll(async () => {
  await recreateDatabase(url.toString());
  await migrateLatest(url.toString());
  // The api on this database; no worker: nothing here starts a workflow.
  stack = await startStack({ DATABASE_URL: url.toString() }, { worker: false });
  explainer = new Client({ connectionString: url.toString() });
  await explainer.connect();
  const team = await accountWithAdmin(stack, 'pro');
  admin = team.admin;
  agent = await invite(stack, admin, 'agent', 'Ana Agent');
  const neighbour = await accountWithAdmin(stack, 'pro');
  inbox = await seedInbox(stack.db, {
    accountId: team.accountId,
    conversations: CONVERSATIONS,
    assignees: [agent.userId, admin.userId],
    readerUserId: agent.userId,
  });
  const [named] = (
    await stack.db.raw(
      `SELECT substring(m.content from '#([0-9]+)') AS n FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE c.account_id = ? AND m.content LIKE '%#%' LIMIT 1`,
      [team.accountId],
    )
  ).rows;
  orderNumber = named.n;
  await seedInbox(stack.db, { accountId: neighbour.accountId, conversations: CONVERSATIONS, readerUserId: neighbour.admin.userId });
}, 120_000);

afterAll(async () => {
  await explainer?.end();
  await stack?.stop();
});

interface Captured {
  sql: string;
  bindings: readonly unknown[];
}

/** Every query the api ran while answering one request. */
async function queriesOf(session: Session, path: string): Promise<{ body: any; queries: Captured[] }> {
  const queries: Captured[] = [];
  // As sent: PostgreSQL's own placeholders ($1), the values beside them.
  const listen = (q: { sql: string; bindings?: unknown[] }) => void queries.push({ sql: q.sql, bindings: [...(q.bindings ?? [])] });
  stack.db.on('query', listen);
  try {
    const res = await session.call('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
    return { body: res.body, queries };
  } finally {
    stack.db.off('query', listen);
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

const explain = async (q: Captured, format: 'JSON' | 'TEXT') =>
  (await explainer.query(`EXPLAIN (FORMAT ${format}) ${q.sql}`, q.bindings as unknown[])).rows;

/**
 * Plans of every query the request ran. Fails on a sequential scan of conversations or
 * messages, naming the request and printing the plan; and when no plan read the tables the
 * request is about, which would mean the capture missed its query.
 */
async function expectIndexedPlans(label: string, path: string, session: Session = agent, reads: string[] = ['conversations']) {
  const { body, queries } = await queriesOf(session, path);
  const read = new Set<string>();
  const problems: string[] = [];
  for (const q of queries) {
    const [{ 'QUERY PLAN': [plan] }] = await explain(q, 'JSON');
    const nodes = nodesOf(plan.Plan);
    for (const n of nodes) if (n['Relation Name']) read.add(n['Relation Name']);
    const scans = nodes.filter((n) => n['Node Type'] === 'Seq Scan' && ['conversations', 'messages'].includes(n['Relation Name'] ?? ''));
    if (scans.length > 0) {
      const text = (await explain(q, 'TEXT')).map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      problems.push(`${label} (GET ${path}): Seq Scan on ${scans.map((s) => s['Relation Name']).join(', ')}\n${q.sql}\n${text}`);
    }
  }
  // Thrown, not compared: jest prints the message as it is, plans readable.
  if (problems.length > 0) throw new Error(problems.join('\n\n'));
  expect([...read]).toEqual(expect.arrayContaining(reads));
  return body;
}

const list = (query: string) => `/api/conversations?${query}`;

describe('inbox list: no sequential scan of conversations or messages', () => {
  const cases: Array<[string, () => string]> = [
    ['no filter (the default: open, anyone)', () => ''],
    ['status=all', () => 'status=all'],
    ...(['open', 'pending', 'snoozed', 'resolved'] as const).map((s): [string, () => string] => [`status=${s}`, () => `status=${s}`]),
    ['assignee=me', () => 'assignee=me'],
    ['assignee=unassigned', () => 'assignee=unassigned'],
    ['assignee=<a user>', () => `assignee=${admin.userId}`],
    ['assignee=me, any status', () => 'assignee=me&status=all'],
    ['assignee=unassigned, any status', () => 'assignee=unassigned&status=all'],
    ['channel_type', () => 'channel_type=whatsapp'],
    ['channel_type, any status', () => 'channel_type=x&status=all'],
    ['channel_id', () => `channel_id=${inbox.channels.email}`],
    ['channel_id, any status', () => `channel_id=${inbox.channels.telegram}&status=all`],
    ['q: part of a name', () => 'q=mateo'],
    ['q: a common word', () => 'q=refund'],
    ['q: a rare word', () => 'q=quokka'],
    ['q: two words', () => 'q=parcel%20late'],
    ['q: an order number', () => `q=${orderNumber}`],
    ['q, any status', () => 'q=mateo&status=all'],
    ['unread=true', () => 'unread=true'],
    ['unread=true, any status', () => 'unread=true&status=all'],
    ['assignee=me and channel_type', () => 'assignee=me&channel_type=telegram'],
    ['status, assignee=unassigned and channel_type', () => 'status=pending&assignee=unassigned&channel_type=email'],
    ['channel_id and assignee=me', () => `channel_id=${inbox.channels.webchat}&assignee=me`],
    ['unread=true and assignee=me', () => 'unread=true&assignee=me'],
    ['q and assignee=me', () => 'q=refund&assignee=me'],
  ];
  test.each(cases)('%s', async (label, query) => {
    await expectIndexedPlans(label, list(query()));
  });

  test.each([
    ['the default', ''],
    ['status=all', 'status=all'],
    ['assignee=unassigned', 'assignee=unassigned'],
    ['channel_type', 'channel_type=whatsapp'],
    ['q', 'q=refund'],
  ])('the next page (a cursor): %s', async (label, query) => {
    const first = await agent.call('GET', list(`${query}&limit=20`));
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const page = await expectIndexedPlans(`${label}, page 2`, list(`${query}&limit=20&cursor=${first.body.next_cursor}`));
    expect(page.data).toHaveLength(20);
  });
});

test('counts: no sequential scan of conversations', async () => {
  const counts = await expectIndexedPlans('counts', '/api/conversations/counts', agent, ['conversation_counts']);
  expect(counts.all).toBeGreaterThan(CONVERSATIONS / 2);
});

describe('timeline: no sequential scan of messages', () => {
  const path = (query: string) => `/api/conversations/${inbox.longestConversationId}/messages?limit=5&${query}`;
  test.each(['asc', 'desc'])('order=%s, first page and the next', async (order) => {
    const first = await expectIndexedPlans(`timeline ${order}`, path(`order=${order}`), agent, ['messages', 'conversations']);
    expect(first.data).toHaveLength(5);
    const next = await expectIndexedPlans(`timeline ${order}, page 2`, path(`order=${order}&cursor=${first.next_cursor}`), agent, ['messages']);
    expect(next.data).toHaveLength(5);
  });
});
