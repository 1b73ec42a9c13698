import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { send } from './support/chat.js';
import { assertCode, roomWithCast } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const MsgHistory = graphql(`
  query MsgHistory($roomId: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    room(id: $roomId) {
      messages(first: $first, after: $after, last: $last, before: $before) {
        edges {
          cursor
          node {
            seq
          }
        }
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
      }
    }
  }
`);

const TOTAL = 250;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('message history', () => {
  let api: TestServer;
  let owner: TestUser;
  let roomId: string;

  const page = async (args: { first?: number; after?: string | null; last?: number; before?: string | null }) => {
    const data = await api.ok(MsgHistory, { roomId, ...args }, owner.token);
    const messages = data.room?.messages;
    assert.ok(messages);
    return { ...messages, seqs: messages.edges.map((edge) => edge.node.seq) };
  };

  before(async () => {
    // RATE_LIMITS=off: this suite sends in bulk, as no person does; the limits are tested in rate-limits.test.ts.
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    owner = await createUser(api, 'historian');
    roomId = await roomWithCast(api, { owner, visibility: 'PRIVATE' });
    // Ten senders at a time: fast, and the seqs still come out 1..TOTAL.
    for (let start = 1; start <= TOTAL; start += 10) {
      await Promise.all(range(start, Math.min(start + 9, TOTAL)).map((n) => send(api, owner, roomId, `message ${n}`)));
    }
  });
  after(() => api.close());

  it('pages forward with first/after, oldest first', async () => {
    const one = await page({ first: 100 });
    assert.deepEqual(one.seqs, range(1, 100));
    assert.deepEqual([one.pageInfo.hasPreviousPage, one.pageInfo.hasNextPage], [false, true]);
    const two = await page({ first: 100, after: one.pageInfo.endCursor });
    assert.deepEqual(two.seqs, range(101, 200));
    assert.deepEqual([two.pageInfo.hasPreviousPage, two.pageInfo.hasNextPage], [true, true]);
    const three = await page({ first: 100, after: two.pageInfo.endCursor });
    assert.deepEqual(three.seqs, range(201, 250));
    assert.deepEqual([three.pageInfo.hasPreviousPage, three.pageInfo.hasNextPage], [true, false]);
  });

  it('pages backwards with last/before from the newest, each page still oldest first', async () => {
    const seen: number[][] = [];
    let before: string | null = null;
    for (;;) {
      const current = await page({ last: 50, before });
      seen.push(current.seqs);
      assert.equal(current.pageInfo.hasNextPage, before !== null);
      if (!current.pageInfo.hasPreviousPage) break;
      before = current.pageInfo.startCursor ?? null;
    }
    assert.deepEqual(seen, [range(201, 250), range(151, 200), range(101, 150), range(51, 100), range(1, 50)]);
  });

  it('gives stable cursors that work in both directions', async () => {
    const forward = await page({ first: 100 });
    const next = await page({ first: 1, after: forward.pageInfo.endCursor });
    assert.deepEqual(next.seqs, [101]);
    const backward = await page({ last: 100, before: next.pageInfo.endCursor });
    assert.deepEqual(backward.seqs, range(1, 100));
    assert.deepEqual(
      backward.edges.map((edge) => edge.cursor),
      forward.edges.map((edge) => edge.cursor),
      'the same message has the same cursor whichever way it was reached',
    );
    const cursorOf = (seq: number) => forward.edges.find((edge) => edge.node.seq === seq)?.cursor;
    assert.deepEqual((await page({ first: 100, after: cursorOf(10) })).seqs, range(11, 110));
    assert.deepEqual((await page({ last: 5, before: cursorOf(10) })).seqs, range(5, 9));
    assert.deepEqual((await page({ last: 5, before: cursorOf(3) })).seqs, [1, 2]);
  });

  it('defaults to 50, caps pages at 100, and rejects foreign cursors and negative sizes', async () => {
    assert.deepEqual((await page({})).seqs, range(1, 50));
    assert.deepEqual((await page({ first: 500 })).seqs, range(1, 100));
    assert.deepEqual((await page({ last: 500 })).seqs, range(151, 250));
    const end = await page({ first: 1, after: (await page({ last: 1 })).pageInfo.endCursor });
    assert.deepEqual([end.seqs, end.pageInfo.hasNextPage], [[], false]);

    for (const args of [{ after: 'not-a-cursor' }, { before: 'bm9wZQ' }, { first: -1 }, { last: -5 }]) {
      assertCode(await api.request(MsgHistory, { roomId, ...args }, owner.token), 'BAD_USER_INPUT', JSON.stringify(args));
    }
  });
});
