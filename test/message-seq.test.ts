import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { send } from './support/chat.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from './support/database.js';
import { rawId, roomWithCast } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';

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
    api = await startTestServer();
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
});

describe('per-room message sequence across server instances', { skip: !usingPostgres && 'needs TEST_DATABASE_URL' }, () => {
  let database: TestDatabase;
  let servers: TestServer[];
  before(async () => {
    database = await createTestDatabase();
    servers = [await startTestServer({ database }), await startTestServer({ database })];
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
});
