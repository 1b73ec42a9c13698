import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { topics } from '../src/realtime/topics.js';
import { send } from './support/chat.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from './support/database.js';
import { outcome, rawId, recordEvents, roomWithCast } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

const SeqSend = graphql(`
  mutation SeqSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
      body
      author {
        username
      }
    }
  }
`);

const SENDERS = 12;
const PER_SENDER = 20;
const TOTAL = SENDERS * PER_SENDER;
const oneToTotal = Array.from({ length: TOTAL }, (_, i) => i + 1);

/** Every sender sends PER_SENDER messages at once, round-robin over the servers; all in flight together. */
async function sendAllAtOnce(servers: TestServer[], senders: TestUser[], roomId: string): Promise<number[]> {
  const sends = senders.flatMap((sender, s) =>
    Array.from({ length: PER_SENDER }, (_, n) => send(servers[(s + n) % servers.length]!, sender, roomId, `${sender.username} #${n}`)),
  );
  return (await Promise.all(sends)).map((message) => message.seq);
}

/** A room of SENDERS members on api; returns its id and the members. */
async function crowdedRoom(api: TestServer): Promise<{ roomId: string; senders: TestUser[] }> {
  const senders: TestUser[] = [];
  for (let i = 0; i < SENDERS; i++) senders.push(await createUser(api, `sender${i}`));
  const [owner, ...members] = senders;
  return { roomId: await roomWithCast(api, { owner: owner!, members }), senders };
}

async function storedSeqs(api: TestServer, roomId: string): Promise<number[]> {
  const rows = await api.server.app.prisma.message.findMany({ where: { roomId: rawId(roomId) }, select: { seq: true }, orderBy: { seq: 'asc' } });
  return rows.map((row) => row.seq);
}

const sorted = (seqs: number[]) => [...seqs].sort((a, b) => a - b);

describe('per-room message sequence', () => {
  let api: TestServer;
  before(async () => {
    // RATE_LIMITS=off: this suite sends in bulk, as no person does; the limits are tested in rate-limits.test.ts.
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
  });
  after(() => api.close());

  it(`gives ${TOTAL} concurrent messages from ${SENDERS} senders exactly the seqs 1..${TOTAL}`, async () => {
    const { roomId, senders } = await crowdedRoom(api);
    const seqs = await sendAllAtOnce([api], senders, roomId);
    assert.deepEqual(sorted(seqs), oneToTotal, 'each send got its own seq, none skipped');
    assert.deepEqual(await storedSeqs(api, roomId), oneToTotal);
    const room = await api.server.app.prisma.room.findUniqueOrThrow({ where: { id: rawId(roomId) } });
    assert.equal(room.lastSeq, TOTAL);
  });

  it('stores concurrent sends in shared statements, refusing only the sends that deserve it', async () => {
    const { roomId, senders } = await crowdedRoom(api);
    const [owner, member] = senders as [TestUser, TestUser];
    const outsider = await createUser(api, 'outsider');
    const otherRoom = await roomWithCast(api, { owner });
    const elsewhere = await send(api, owner, otherRoom, 'elsewhere');
    const original = (await api.ok(SeqSend, { input: { roomId, body: 'first', clientMessageId: 'k1' } }, member.token)).sendMessage;
    const events = await recordEvents(api, topics.room(rawId(roomId)));

    const good = Array.from({ length: 24 }, (_, n) => ({ input: { roomId, body: `good ${n}` }, token: senders[n % SENDERS]!.token }));
    const bad = [
      { input: { roomId, body: 'not a member' }, token: outsider.token, expect: 'FORBIDDEN' },
      { input: { roomId, body: 'bad reply', replyToId: elsewhere.id }, token: member.token, expect: 'BAD_USER_INPUT' },
      { input: { roomId, body: 'retry', clientMessageId: 'k1' }, token: member.token, expect: 'RETRY' },
      { input: { roomId, body: 'new key', clientMessageId: 'k2' }, token: member.token, expect: 'OK' },
      { input: { roomId, body: 'new key again', clientMessageId: 'k2' }, token: member.token, expect: 'SAME' },
    ];
    // Interleaved and all in flight together, so refused sends share statements with stored ones.
    const all = [...good.slice(0, 12), ...bad, ...good.slice(12)];
    const results = await Promise.all(all.map(({ input, token }) => api.request(SeqSend, { input }, token)));

    const badResults = results.slice(12, 12 + bad.length);
    assert.deepEqual(badResults.slice(0, 2).map(outcome), ['FORBIDDEN', 'BAD_USER_INPUT']);
    assert.deepEqual(badResults[2]?.data?.sendMessage, original, 'a retry answers the original');
    const k2 = badResults[3]?.data?.sendMessage;
    assert.equal(k2?.body, 'new key');
    assert.deepEqual(badResults[4]?.data?.sendMessage, k2, 'a retry queued beside its original answers it too');

    const stored = [...results.slice(0, 12), badResults[3]!, ...results.slice(12 + bad.length)].map((result) => result.data?.sendMessage);
    assert.deepEqual(sorted(stored.map((message) => message!.seq)), Array.from({ length: 25 }, (_, i) => i + 2), 'seqs 2..26, no gap');
    assert.deepEqual(stored[0]?.author, { username: senders[0]!.username }, 'the answer carries the author');
    assert.deepEqual(await storedSeqs(api, roomId), Array.from({ length: 26 }, (_, i) => i + 1));

    const published = await events.settled(25);
    assert.deepEqual(
      published.map((event) => event.type === 'MessageAdded' && event.seq),
      Array.from({ length: 25 }, (_, i) => i + 2),
      'published once each, in seq order',
    );
    events.stop();
  });

  it('stores the sends that arrive while a statement runs in one shared statement', async () => {
    // Whether HTTP requests overlap depends on the machine's load; sends handed to the appender in
    // one turn overlap for certain.
    const { roomId, senders } = await crowdedRoom(api);
    let inserts = 0;
    const stopCounting = api.server.app.db.onQuery((sql) => {
      if (sql.includes('INSERT INTO "Message"')) inserts++;
    });
    const drafts = Array.from({ length: 25 }, (_, n) => ({
      authorId: rawId(senders[n % SENDERS]!.id),
      body: `together ${n}`,
      payload: null,
      replyToId: null,
      clientMessageId: null,
    }));
    const appended = await Promise.all(drafts.map((draft) => api.server.app.appender.append(rawId(roomId), draft)));
    stopCounting();
    assert.deepEqual(
      appended.map((entry) => entry?.message.seq),
      Array.from({ length: 25 }, (_, i) => i + 1),
      'stored in the order handed over',
    );
    assert.ok(inserts <= 2, `25 sends handed over together took ${inserts} INSERT statements: they share them`);
  });

  it('stores the sends to many rooms handed over together in shared statements, each room numbered on its own', async () => {
    const { roomId, senders } = await crowdedRoom(api);
    const [owner] = senders as [TestUser];
    const rooms = [roomId];
    for (let r = 1; r < 5; r++) rooms.push(await roomWithCast(api, { owner, name: `room ${r}` }));
    const firstSeq = (await send(api, owner, rooms[1]!, 'before')).seq + 1;
    let inserts = 0;
    const stopCounting = api.server.app.db.onQuery((sql) => {
      if (sql.includes('INSERT INTO "Message"')) inserts++;
    });
    // Interleaved over the rooms; a stranger's send to room 3 is refused without refusing the others.
    const stranger = await createUser(api, 'stranger');
    const drafts = Array.from({ length: 40 }, (_, n) => ({
      roomId: rawId(rooms[n % rooms.length]!),
      authorId: rawId(n === 23 ? stranger.id : owner.id),
      draft: { body: `spread ${n}`, payload: null, replyToId: null, clientMessageId: null },
    }));
    const appended = await Promise.all(
      drafts.map(({ roomId: room, authorId, draft }) => api.server.app.appender.append(room, { authorId, ...draft })),
    );
    stopCounting();
    assert.equal(appended[23], null, "a stranger's send is not stored");
    for (const [r, room] of rooms.entries()) {
      const seqs = appended.filter((entry, n) => n % rooms.length === r && entry !== null).map((entry) => entry!.message.seq);
      const start = r === 1 ? firstSeq : 1;
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => start + i), `room ${r}: in the order handed over, no gap`);
      assert.ok(appended.every((entry, n) => entry === null || (n % rooms.length === r) === (entry.message.roomId === rawId(room))));
    }
    assert.ok(inserts <= 2, `40 sends to 5 rooms handed over together took ${inserts} INSERT statements: they share them`);
  });
});

describe('per-room message sequence across server instances', { skip: !usingPostgres && 'needs TEST_DATABASE_URL' }, () => {
  let database: TestDatabase;
  let servers: TestServer[];
  before(async () => {
    database = await createTestDatabase();
    // RATE_LIMITS=off: this suite sends in bulk, as no person does; the limits are tested in rate-limits.test.ts.
    const env = { RATE_LIMITS: 'off' };
    servers = [await startTestServer({ database, env }), await startTestServer({ database, env })];
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await database.drop();
  });

  it(`keeps seqs 1..${TOTAL} when two instances take the sends`, async () => {
    const { roomId, senders } = await crowdedRoom(servers[0]!);
    const seqs = await sendAllAtOnce(servers, senders, roomId);
    assert.deepEqual(sorted(seqs), oneToTotal);
    assert.deepEqual(await storedSeqs(servers[1]!, roomId), oneToTotal);
  });

  it('stores a retry raced from two instances once, and the sends batched with it still go through', async () => {
    const { roomId, senders } = await crowdedRoom(servers[0]!);
    const [racer, ...others] = senders as [TestUser, ...TestUser[]];
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      const clientMessageId = `race-${round}`;
      // Each instance batches copies of the same retry with other senders' messages: the batch whose
      // statement commits second meets the first's row in the unique index.
      const sends = servers.flatMap((server, s) => [
        ...Array.from({ length: 3 }, () => server.ok(SeqSend, { input: { roomId, body: 'raced', clientMessageId } }, racer.token)),
        ...others.slice(s * 4, s * 4 + 4).map((other) => server.ok(SeqSend, { input: { roomId, body: 'beside' } }, other.token)),
      ]);
      const results = (await Promise.all(sends)).map((data) => data.sendMessage);
      const raced = results.filter((message) => message.body === 'raced');
      assert.equal(new Set(raced.map((message) => message.id)).size, 1, `round ${round}: one message for the key`);
      assert.equal(results.filter((message) => message.body === 'beside').length, 8);
    }
    const perRound = 1 + 8;
    assert.deepEqual(await storedSeqs(servers[1]!, roomId), Array.from({ length: ROUNDS * perRound }, (_, i) => i + 1));
  });
});
