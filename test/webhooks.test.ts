import assert from 'node:assert/strict';
import { timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { webhookSignature } from '../src/webhooks/signature.js';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { createTestDatabase, usingPostgres, unlessServicesShared, type TestDatabase } from './support/database.js';
import { capturedLogger } from './support/logs.js';
import { scrape, value } from './support/metrics.js';
import { assertCode, RoomsCreateRoom, RoomsJoin, RoomsLeave } from './support/rooms.js';
import { startTestServer, type TestServer, useTwoInstances } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { waitFor } from './support/wait.js';
import { connectSocket } from './support/ws.js';

const WebhookEdit = graphql(`
  mutation WebhookEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
    }
  }
`);

const WebhookSend = graphql(`
  mutation WebhookSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
    }
  }
`);

const WebhookDelete = graphql(`
  mutation WebhookDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
    }
  }
`);

const WebhookState = graphql(`
  query WebhookState($roomId: ID!, $messageId: ID!) {
    room(id: $roomId) {
      memberCount
    }
    message: node(id: $messageId) {
      ... on Message {
        body
        deletedAt
      }
    }
    rooms(first: 50) {
      edges {
        node {
          name
        }
      }
    }
  }
`);

const SECRET = 'webhook-test-secret-0123456789';

interface Received {
  delivery: string;
  event: string;
  roomId: string;
  data: { message?: { body: string | null; seq: number }; userId?: string };
}

/** A webhook receiver on loopback: checks each POST's signature and timestamp, answers 204 (or 500 while failing). */
async function startReceiver(port = 0) {
  const received: Received[] = [];
  const refused: string[] = [];
  const state = { failing: false };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const timestamp = String(request.headers['x-parley-timestamp']);
      const expected = Buffer.from(webhookSignature(SECRET, timestamp, body));
      const given = Buffer.from(String(request.headers['x-parley-signature']));
      // Replay-proof: a receiver refuses an old timestamp (here, more than five minutes off).
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) < 300;
      if (expected.length !== given.length || !timingSafeEqual(expected, given) || !fresh) {
        refused.push(body);
        response.writeHead(401).end();
        return;
      }
      if (state.failing) {
        response.writeHead(500).end();
        return;
      }
      const parsed = JSON.parse(body) as Omit<Received, 'delivery'>;
      received.push({ ...parsed, delivery: String(request.headers['x-parley-delivery']) });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    received,
    refused,
    state,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('outgoing webhooks', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let api: TestServer;
  let owner: TestUser;
  let member: TestUser;
  const log = capturedLogger();

  /** A server on the same storage each time, so the queue outlives a restart. */
  const start = () =>
    startTestServer({
      ...(database ? { database } : { dataDir }),
      logger: log.logger,
      env: { WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks`, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY: '1' },
    });

  before(async () => {
    receiver = await startReceiver();
    if (usingPostgres) database = await createTestDatabase();
    else dataDir = mkdtempSync(join(tmpdir(), 'parley-webhooks-'));
    api = await start();
    owner = await createUser(api, 'owner');
    member = await createUser(api, 'member');
  });
  after(async () => {
    await api.close();
    await receiver.close();
    await database?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const bodiesOf = (roomId: string) =>
    receiver.received.filter((event) => event.roomId === roomId && event.event === 'message.sent').map((event) => event.data.message?.body);

  it('POSTs signed events in order per room, over HTTP and graphql-ws', async () => {
    const a = await createRoomWith(api, owner, [member], 'PUBLIC');
    const b = await createRoomWith(api, owner, []);
    await send(api, member, a, 'a1');
    await send(api, owner, b, 'b1');
    await send(api, owner, a, 'a2');
    const socket = await connectSocket(api.wsUrl, owner.token);
    const overSocket = await socket.execute(WebhookSend, { input: { roomId: a, body: 'a3' } });
    await socket.dispose();
    assert.equal(overSocket.errors, undefined);
    await api.ok(WebhookEdit, { messageId: overSocket.data!.sendMessage.id, body: 'a3 edited' }, owner.token);
    const outsider = await createUser(api, 'outsider');
    await api.ok(RoomsJoin, { roomId: a }, outsider.token);

    await waitFor(() => receiver.received.some((event) => event.event === 'member.joined'), 'the join to be delivered');
    assert.deepEqual(bodiesOf(a), ['a1', 'a2', 'a3']);
    assert.deepEqual(bodiesOf(b), ['b1']);
    const ofA = receiver.received.filter((event) => event.roomId === a).map((event) => event.event);
    assert.deepEqual(ofA, ['room.created', 'message.sent', 'message.sent', 'message.sent', 'message.edited', 'member.joined']);
    assert.equal(receiver.received.find((event) => event.event === 'message.edited')?.data.message?.body, 'a3 edited');
    assert.equal(receiver.received.find((event) => event.event === 'member.joined')?.data.userId, outsider.id);
    assert.deepEqual(receiver.refused, [], 'every signature checked out');
    const deliveries = receiver.received.map((event) => Number(event.delivery));
    assert.deepEqual(deliveries, [...deliveries].sort((x, y) => x - y), 'delivered in queue order');
  });

  it('sends racing into one room reach the receiver in seq order', async () => {
    const roomId = await createRoomWith(api, owner, [member]);
    const sent = await Promise.all(['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'].map((body, i) => send(api, i % 2 ? owner : member, roomId, body)));
    await waitFor(() => bodiesOf(roomId).length === sent.length, 'every racing send to be delivered');
    const seqs = receiver.received.filter((event) => event.roomId === roomId && event.event === 'message.sent').map((event) => event.data.message?.seq);
    assert.deepEqual(seqs, [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('keeps what the receiver failed, across a restart, and delivers it in order once the receiver is back', async () => {
    const roomId = await createRoomWith(api, owner, [member]);
    receiver.state.failing = true;
    for (const body of ['r1', 'r2', 'r3']) await send(api, member, roomId, body);
    await api.close();
    const port = receiver.port;
    await receiver.close();
    receiver = { ...(await startReceiver(port)), port };
    receiver.state.failing = true;
    api = await start();
    await send(api, member, roomId, 'r4');
    const failures = () => log.lines().filter((line) => line.msg === 'webhook delivery failed');
    // One failed attempt before the restart and one after it, each logged.
    await waitFor(() => failures().length >= 2, 'two failed attempts');
    assert.ok(failures().every((line) => line.level === 40 && typeof line.delivery === 'string' && typeof line.attempt === 'number'));
    assert.equal(receiver.received.length, 0, 'nothing got through while the receiver failed');
    receiver.state.failing = false;
    // The retries back off (1 s, 2 s, 4 s... from WEBHOOK_RETRY=1) across the restart: allow for a few.
    await waitFor(() => bodiesOf(roomId).length === 4, 'the four messages to be delivered', 60_000);
    assert.deepEqual(bodiesOf(roomId), ['r1', 'r2', 'r3', 'r4']);
    assert.deepEqual(receiver.refused, []);
  });
});

describe('the webhook queue', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let api: TestServer;
  let owner: TestUser;
  const log = capturedLogger();
  /** The receiver's own credential in its URL: never logged. */
  const RECEIVER_TOKEN = 'receiver-credential-42';

  before(async () => {
    receiver = await startReceiver();
    api = await startTestServer({
      logger: log.logger,
      env: { WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks?token=${RECEIVER_TOKEN}`, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY: '1' },
    });
    owner = await createUser(api, 'owner');
  });
  after(async () => {
    await api.close();
    await receiver.close();
  });

  const queued = async () => (await api.server.app.prisma.webhookDelivery.findMany({ orderBy: { id: 'asc' } })).map((row) => row.event);

  it("queues each event in its write's transaction: a write whose event cannot be queued is undone", async () => {
    const leaver = await createUser(api, 'leaver');
    const outsider = await createUser(api, 'outsider');
    const roomId = await createRoomWith(api, owner, [leaver], 'PUBLIC');
    const kept = await send(api, owner, roomId, 'kept');
    const doomed = await send(api, owner, roomId, 'to be deleted');
    await waitFor(async () => (await queued()).length === 0, 'the queue to be delivered');
    // The database refuses to queue any event that mentions these: the writes they report must fail whole.
    const markers = ['poisoned', outsider.id, leaver.id, doomed.id];
    const { prisma } = api.server.app;
    await prisma.$executeRawUnsafe(`CREATE FUNCTION "refuseWebhook"() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
    await prisma.$executeRawUnsafe(
      `CREATE TRIGGER "refuseWebhook" BEFORE INSERT ON "WebhookDelivery" FOR EACH ROW
       WHEN (${markers.map((marker) => `NEW."body" LIKE '%${marker}%'`).join(' OR ')}) EXECUTE FUNCTION "refuseWebhook"()`,
    );
    try {
      const socket = await connectSocket(api.wsUrl, owner.token);
      const overSocket = await socket.execute(WebhookSend, { input: { roomId, body: 'poisoned over graphql-ws' } });
      assert.equal(overSocket.errors?.[0]?.extensions?.code, 'INTERNAL_SERVER_ERROR', 'send over graphql-ws');
      await socket.dispose();
      assertCode(await api.request(WebhookSend, { input: { roomId, body: 'poisoned' } }, owner.token), 'INTERNAL_SERVER_ERROR', 'send');
      assertCode(await api.request(WebhookEdit, { messageId: kept.id, body: 'poisoned' }, owner.token), 'INTERNAL_SERVER_ERROR', 'edit');
      assertCode(await api.request(WebhookDelete, { messageId: doomed.id }, owner.token), 'INTERNAL_SERVER_ERROR', 'delete');
      const poisonedRoom = { name: 'poisoned', visibility: 'PUBLIC' as const, memberIds: [] };
      assertCode(await api.request(RoomsCreateRoom, { input: poisonedRoom }, owner.token), 'INTERNAL_SERVER_ERROR', 'createRoom');
      assertCode(await api.request(RoomsJoin, { roomId }, outsider.token), 'INTERNAL_SERVER_ERROR', 'join');
      assertCode(await api.request(RoomsLeave, { roomId }, leaver.token), 'INTERNAL_SERVER_ERROR', 'leave');
    } finally {
      await prisma.$executeRawUnsafe(`DROP TRIGGER "refuseWebhook" ON "WebhookDelivery"`);
      await prisma.$executeRawUnsafe(`DROP FUNCTION "refuseWebhook"()`);
    }

    const state = await api.ok(WebhookState, { roomId, messageId: kept.id }, owner.token);
    assert.deepEqual(state.message, { body: 'kept', deletedAt: null }, 'the edit was undone');
    assert.equal(state.room?.memberCount, 2, 'neither the join nor the leave happened');
    assert.ok(!state.rooms.edges.some((edge) => edge.node.name === 'poisoned'), 'the room was not created');
    const stillThere = await api.ok(WebhookState, { roomId, messageId: doomed.id }, owner.token);
    assert.deepEqual(stillThere.message, { body: 'to be deleted', deletedAt: null }, 'the delete was undone');
    assert.equal((await send(api, owner, roomId, 'next')).seq, doomed.seq + 1, 'the refused sends took no seq');
    assert.deepEqual(await queued(), ['message.sent'], 'only the last send is queued');
  });

  it('holds each event from the moment its mutation answers; counts and logs every failed attempt', async () => {
    await waitFor(async () => (await queued()).length === 0, 'the queue to be delivered');
    const before = await scrape(api);
    receiver.state.failing = true;
    const joiner = await createUser(api, 'joiner');
    const roomId = await createRoomWith(api, owner, [], 'PUBLIC');
    const expected = ['room.created'];
    const answered = async (event: string, mutation: Promise<unknown>) => {
      await mutation;
      expected.push(event);
      // The receiver fails every POST, so what is queued stays queued: it must all be there.
      assert.deepEqual(await queued(), expected, `queued once ${event}'s mutation answered`);
    };
    assert.deepEqual(await queued(), expected);
    const sent = await send(api, owner, roomId, 'held');
    expected.push('message.sent');
    assert.deepEqual(await queued(), expected);
    await answered('message.edited', api.ok(WebhookEdit, { messageId: sent.id, body: 'held, edited' }, owner.token));
    await answered('member.joined', api.ok(RoomsJoin, { roomId }, joiner.token));
    await answered('member.left', api.ok(RoomsLeave, { roomId }, joiner.token));
    await answered('message.deleted', api.ok(WebhookDelete, { messageId: sent.id }, owner.token));

    const failures = () => log.lines().filter((line) => line.msg === 'webhook delivery failed');
    await waitFor(() => failures().length >= 1, 'a failed attempt');
    const failing = await scrape(api);
    assert.equal(value(failing, 'parley_webhook_queue_pending'), expected.length);
    assert.ok(value(failing, 'parley_webhook_queue_oldest_age_seconds') > 0, 'the oldest pending event has an age');
    const failedBefore = value(before, 'parley_webhook_deliveries_total{outcome="failed"}');
    assert.ok(value(failing, 'parley_webhook_deliveries_total{outcome="failed"}') >= failedBefore + 1);
    const [first] = failures();
    assert.equal(first?.level, 40);
    assert.equal(first?.event, 'room.created');
    assert.equal(first?.host, `127.0.0.1:${receiver.port}`);
    assert.equal(first?.status, 500);
    assert.equal(first?.attempt, 1);
    assert.match(String(first?.delivery), /^\d+$/);
    assert.ok(!log.text().includes(RECEIVER_TOKEN) && !log.text().includes(SECRET), 'no secret in the logs');

    receiver.state.failing = false;
    await waitFor(async () => (await queued()).length === 0, 'the queue to be delivered', 30_000);
    const done = await scrape(api);
    assert.equal(value(done, 'parley_webhook_queue_pending'), 0);
    assert.equal(value(done, 'parley_webhook_queue_oldest_age_seconds'), 0);
    const delivered = (samples: Map<string, number>) => value(samples, 'parley_webhook_deliveries_total{outcome="delivered"}');
    assert.equal(delivered(done) - delivered(before), expected.length);
    assert.deepEqual(
      receiver.received.filter((event) => event.roomId === roomId).map((event) => event.event),
      expected,
    );
  });
});

// Two instances on one database deliver one queue: each event once, each room's in seq order.
describe('outgoing webhooks on several instances', { skip: unlessServicesShared }, () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());
  const instances = useTwoInstances(() => ({
    env: { WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks`, WEBHOOK_SECRET: SECRET, WEBHOOK_RETRY: '1' },
  }));

  it('delivers what both instances queue, once each, in order per room', async () => {
    const { a, b } = instances;
    const owner = await createUser(a, 'owner');
    const roomId = await createRoomWith(a, owner, []);
    const sent: string[] = [];
    for (let index = 0; index < 10; index++) {
      const body = `m${index}`;
      await send(index % 2 === 0 ? a : b, owner, roomId, body);
      sent.push(body);
    }
    const bodies = () => receiver.received.filter((event) => event.roomId === roomId && event.event === 'message.sent').map((event) => event.data.message?.body);
    await waitFor(() => bodies().length >= sent.length, 'every message delivered');
    assert.deepEqual(bodies(), sent);
    assert.equal(new Set(receiver.received.map((event) => event.delivery)).size, receiver.received.length, 'no delivery twice');
  });
});
