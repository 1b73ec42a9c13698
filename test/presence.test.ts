import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { createTestDatabase, unlessServicesShared, type TestDatabase } from './support/database.js';
import { startServerProcess } from './support/process.js';
import { startTestServer, TEST_JWT_SECRET, uniqueRedisPrefix, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, subscribeReady, type Subscription } from './support/ws.js';

const PresenceOfUser = graphql(`
  query PresenceOfUser($id: ID!) {
    user(id: $id) {
      presence {
        status
        lastSeenAt
      }
    }
  }
`);

const PresenceWatch = graphql(`
  subscription PresenceWatch($roomId: ID) {
    presenceChanged(roomId: $roomId) {
      user {
        id
      }
      presence {
        status
        lastSeenAt
      }
    }
  }
`);

type Watch = Subscription<{ presenceChanged: { user: { id: string }; presence: { status: string; lastSeenAt: string | null } } }>;

async function presenceOf(api: TestServer, viewer: TestUser, user: TestUser) {
  const data = await api.ok(PresenceOfUser, { id: user.id }, viewer.token);
  return data.user!.presence;
}

/**
 * Polls until the user is OFFLINE with a lastSeenAt: the server notices a socket close a moment after
 * the client does, and stores lastSeenAt a moment after the connection stops counting.
 */
async function waitForOffline(api: TestServer, viewer: TestUser, user: TestUser, withinMs = 5000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const presence = await presenceOf(api, viewer, user);
    if (presence.status === 'OFFLINE' && presence.lastSeenAt) return presence;
    if (Date.now() > deadline) throw new Error(`still ${JSON.stringify(presence)} after ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function nextPresence(watch: Watch, timeoutMs?: number) {
  const result = await watch.next(timeoutMs);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.presenceChanged;
}

/** A watcher sharing a room with subject, subscribed to the room's presence on api (the room, the watcher and subject topics). */
async function watchPresence(api: TestServer, watcher: TestUser, subject: TestUser) {
  const roomId = await createRoomWith(api, watcher, [subject]);
  const socket = await connectSocket(api.wsUrl, watcher.token);
  const watch: Watch = await subscribeReady(api.server.app.bus, socket, PresenceWatch, { roomId }, 3);
  return { watch, close: () => socket.dispose() };
}

/** Gives the server a moment to act on what the client just did, before asserting it did nothing. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('presence on one instance', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('is ONLINE from the first connection to the last, then OFFLINE with lastSeenAt', async () => {
    const watcher = await createUser(api, 'watcher');
    const subject = await createUser(api, 'subject');
    const { watch, close } = await watchPresence(api, watcher, subject);
    try {
      assert.deepEqual(await presenceOf(api, watcher, subject), { status: 'OFFLINE', lastSeenAt: null });

      const first = await connectSocket(api.wsUrl, subject.token);
      assert.deepEqual(await nextPresence(watch), { user: { id: subject.id }, presence: { status: 'ONLINE', lastSeenAt: null } });
      assert.deepEqual(await presenceOf(api, watcher, subject), { status: 'ONLINE', lastSeenAt: null });

      const second = await connectSocket(api.wsUrl, subject.token);
      await first.dispose();
      await settle();
      assert.deepEqual(watch.pending(), [], 'no event while another connection is open');
      assert.equal((await presenceOf(api, watcher, subject)).status, 'ONLINE');

      const closedAt = Date.now();
      await second.dispose();
      const offline = await nextPresence(watch);
      assert.equal(offline.presence.status, 'OFFLINE');
      const lastSeenAt = Date.parse(offline.presence.lastSeenAt ?? '');
      assert.ok(lastSeenAt >= closedAt - 1000 && lastSeenAt <= Date.now() + 1000, `lastSeenAt ${offline.presence.lastSeenAt} is about now`);
      assert.deepEqual(await presenceOf(api, watcher, subject), offline.presence);
      const stored = await api.server.app.prisma.user.findUniqueOrThrow({ where: { username: subject.username } });
      assert.equal(stored.lastSeenAt?.toISOString(), offline.presence.lastSeenAt);
      await settle();
      assert.deepEqual(watch.pending(), [], 'one OFFLINE, nothing more');
    } finally {
      await close();
    }
  });
});

// Several instances on one PostgreSQL database and one Redis prefix, as behind a load balancer.
describe('presence across instances', { skip: unlessServicesShared }, () => {
  // Short, so a dead instance's connections expire within the test.
  const env = { PRESENCE_TTL: '3s' };
  const ttlMs = 3000;
  let database: TestDatabase;
  let redisPrefix: string;
  let a: TestServer;
  let b: TestServer;
  let watcher: TestUser;

  before(async () => {
    database = await createTestDatabase();
    redisPrefix = uniqueRedisPrefix();
    a = await startTestServer({ database, redisPrefix, env });
    b = await startTestServer({ database, redisPrefix, env });
    watcher = await createUser(a, 'watcher');
  });
  after(async () => {
    await a.close();
    await b.close();
    await database.drop();
  });

  /** A user who shares a room with the watcher, so the watcher may see their presence. */
  const roommate = async () => {
    const subject = await createUser(a, 'subject');
    await createRoomWith(a, watcher, [subject]);
    return subject;
  };

  it('answers on one instance for a user connected to another', async () => {
    const subject = await roommate();
    const socket = await connectSocket(a.wsUrl, subject.token);
    assert.equal((await presenceOf(b, watcher, subject)).status, 'ONLINE');
    await socket.dispose();
    await waitForOffline(b, watcher, subject);
  });

  it('keeps a user connected to two instances ONLINE until both connections close', async () => {
    const subject = await createUser(a, 'subject');
    const { watch, close } = await watchPresence(a, watcher, subject);
    try {
      const onA = await connectSocket(a.wsUrl, subject.token);
      assert.equal((await nextPresence(watch)).presence.status, 'ONLINE');
      const onB = await connectSocket(b.wsUrl, subject.token);
      await onA.dispose();
      await settle();
      assert.deepEqual(watch.pending(), [], 'no event while the connection on B is open');
      assert.equal((await presenceOf(a, watcher, subject)).status, 'ONLINE');
      assert.equal((await presenceOf(b, watcher, subject)).status, 'ONLINE');

      await onB.dispose();
      assert.equal((await nextPresence(watch)).presence.status, 'OFFLINE');
      assert.equal((await presenceOf(a, watcher, subject)).status, 'OFFLINE');
      await settle();
      assert.deepEqual(watch.pending(), [], 'one OFFLINE, published by one instance');
    } finally {
      await close();
    }
  });

  it('counts a burst of sockets closing at once right: one OFFLINE per user gone, none for a user still connected', async () => {
    const subjects = await Promise.all([1, 2, 3, 4, 5].map(() => createUser(a, 'subject')));
    const stays = await createUser(a, 'stays');
    const roomId = await createRoomWith(a, watcher, [...subjects, stays]);
    const socket = await connectSocket(a.wsUrl, watcher.token);
    // The viewer's user topic, the room, and each member's presence.
    const watch: Watch = await subscribeReady(a.server.app.bus, socket, PresenceWatch, { roomId }, 2 + subjects.length + 1);
    try {
      const closing = [];
      for (const user of subjects) for (let k = 0; k < 4; k++) closing.push(await connectSocket(a.wsUrl, user.token));
      closing.push(await connectSocket(a.wsUrl, stays.token));
      const kept = await connectSocket(a.wsUrl, stays.token);
      const online = new Set<string>();
      for (let k = 0; k <= subjects.length; k++) {
        const event = await nextPresence(watch);
        assert.equal(event.presence.status, 'ONLINE');
        online.add(event.user.id);
      }
      assert.equal(online.size, subjects.length + 1, 'one ONLINE per user');

      await Promise.all(closing.map((closed) => closed.dispose()));
      const offline = new Set<string>();
      for (const _ of subjects) {
        const event = await nextPresence(watch);
        assert.equal(event.presence.status, 'OFFLINE');
        offline.add(event.user.id);
      }
      assert.deepEqual([...offline].sort(), subjects.map((user) => user.id).sort());
      for (const user of subjects) assert.equal((await presenceOf(b, watcher, user)).status, 'OFFLINE');
      assert.equal((await presenceOf(b, watcher, stays)).status, 'ONLINE');
      await settle();
      assert.deepEqual(watch.pending(), [], 'one OFFLINE per user, none for the user still connected');
      await kept.dispose();
    } finally {
      await socket.dispose();
    }
  });

  it('marks the users of an instance that shuts down OFFLINE by the time it has closed', async () => {
    const subject = await roommate();
    // The default TTL: its users can only go OFFLINE in time through the graceful close.
    const c = await startTestServer({ database, redisPrefix });
    await connectSocket(c.wsUrl, subject.token);
    assert.equal((await presenceOf(a, watcher, subject)).status, 'ONLINE');
    await c.close();
    const presence = await presenceOf(a, watcher, subject);
    assert.equal(presence.status, 'OFFLINE');
    assert.ok(presence.lastSeenAt, 'lastSeenAt is set');
  });

  it('marks the users of an instance killed without closing OFFLINE within the TTL', async () => {
    const subject = await createUser(a, 'subject');
    const { watch, close } = await watchPresence(a, watcher, subject);
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-presence-'));
    assert.equal(database.location.kind, 'postgres');
    const instance = await startServerProcess({
      DATA_DIR: dataDir,
      DATABASE_URL: database.location.kind === 'postgres' ? database.location.url : '',
      REDIS_URL: process.env.TEST_REDIS_URL!,
      REDIS_PREFIX: redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
      PRESENCE_TTL: env.PRESENCE_TTL,
    });
    try {
      await connectSocket(instance.wsUrl, subject.token);
      assert.equal((await nextPresence(watch)).presence.status, 'ONLINE');
      assert.equal((await presenceOf(a, watcher, subject)).status, 'ONLINE');

      instance.child.kill('SIGKILL');
      await instance.exited;
      const offline = await nextPresence(watch, 2 * ttlMs);
      assert.equal(offline.presence.status, 'OFFLINE');
      assert.deepEqual(await presenceOf(a, watcher, subject), offline.presence);
    } finally {
      instance.child.kill('SIGKILL');
      await close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
