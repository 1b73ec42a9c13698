import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { createTestDatabase, usingPostgres, type TestDatabase } from './support/database.js';
import { rawId } from './support/rooms.js';
import { startTestServer, uniqueRedisPrefix, type TestServer, type TestServerOptions } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket, subscribeReady } from './support/ws.js';
import { waitFor } from './support/wait.js';

const StopMessages = graphql(`
  subscription StopMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
    }
  }
`);

const StopMyEvents = graphql(`
  subscription StopMyEvents {
    myEvents {
      __typename
    }
  }
`);

const StopSend = graphql(`
  mutation StopSend($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
      seq
    }
  }
`);

const codeOf = (error: unknown) => (error as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;


/** Storage that outlives a server: a PGlite folder, or a PostgreSQL database. */
async function durableStorage(): Promise<{ options: TestServerOptions; remove(): Promise<void> }> {
  if (usingPostgres) {
    const database: TestDatabase = await createTestDatabase();
    return { options: { database, redisPrefix: uniqueRedisPrefix() }, remove: () => database.drop() };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-stop-'));
  return { options: { dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

describe('graceful shutdown', () => {
  it('ends every subscription with UNAVAILABLE (retryAfter) before the socket closes with 1001', async () => {
    const api = await startTestServer();
    let closed = false;
    try {
      const alice = await createUser(api, 'stop');
      const bob = await createUser(api, 'stop');
      const roomId = await createRoomWith(api, alice, [bob]);
      const { bus } = api.server.app;
      const heard: string[] = [];
      const sockets = await Promise.all([connectSocket(api.wsUrl, alice.token), connectSocket(api.wsUrl, bob.token)]);
      for (const [index, socket] of sockets.entries()) {
        const messages = await subscribeReady(bus, socket, StopMessages, { roomId });
        // myEvents listens to the user's topic and each of their rooms'.
        const mine = await subscribeReady(bus, socket, StopMyEvents, {}, 2);
        for (const [name, subscription] of [['messageAdded', messages], ['myEvents', mine]] as const) {
          void subscription.done.then(({ error }) => {
            heard.push(`${index} ${name} ${error ? codeOf(error) : 'complete'}`);
            const retryAfter = (error as { extensions?: { retryAfter?: number } }[] | undefined)?.[0]?.extensions?.retryAfter;
            assert.equal(retryAfter, 1);
          });
        }
        void socket.closed.then(({ code }) => heard.push(`${index} close ${code}`));
      }
      await api.close();
      closed = true;
      await Promise.all(sockets.map((socket) => socket.closed));
      for (const index of [0, 1]) {
        const own = heard.filter((entry) => entry.startsWith(`${index} `));
        assert.deepEqual(own.slice(0, 2).sort(), [`${index} messageAdded UNAVAILABLE`, `${index} myEvents UNAVAILABLE`]);
        assert.deepEqual(own.slice(2), [`${index} close 1001`]);
      }
      assert.equal(bus.activeSubscriptions(), 0, 'every topic released');
    } finally {
      if (!closed) await api.close();
    }
  });

  it('lets sends in flight (HTTP and WebSocket) finish, and loses nothing it acknowledged', { timeout: 180_000 }, async () => {
    const storage = await durableStorage();
    try {
      // 40 sends from one user at once are past the send burst: the limit is not what this test is about.
      const first = await startTestServer({ ...storage.options, env: { RATE_LIMITS: 'off' } });
      let closing: Promise<void> | undefined;
      let release = () => {};
      try {
        const alice = await createUser(first, 'stop');
        const roomId = await createRoomWith(first, alice, []);
        const socket = await connectSocket(first.wsUrl, alice.token);
        // Sends wait while a transaction holds the room's row: they are in flight when the stop begins.
        const gate = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const holding = new Promise<void>((resolve) => (locked = resolve));
        const lock = first.server.app.prisma.$transaction(async (tx) => {
          await tx.$queryRaw`SELECT 1 FROM "Room" WHERE "id" = ${rawId(roomId)} FOR UPDATE`;
          locked();
          await gate;
        }, { timeout: 120_000 });
        await holding;
        const SENDS = 20;
        type Outcome = { ok: { id: string; seq: number } } | { failed: string };
        const viaHttp = Array.from({ length: SENDS }, (_, i): Promise<Outcome> =>
          first.request(StopSend, { input: { roomId, body: `http ${i}`, clientMessageId: `http-${i}` } }, alice.token).then(
            (result) => (result.data ? { ok: result.data.sendMessage } : { failed: codeOf(result.errors) ?? `HTTP ${result.status}` }),
            () => ({ failed: 'connection' }),
          ),
        );
        const viaSocket = Array.from({ length: SENDS }, async (_, i): Promise<Outcome> => {
          const operation = socket.subscribe(StopSend, { input: { roomId, body: `ws ${i}`, clientMessageId: `ws-${i}` } });
          const result = await operation.next(120_000).catch(() => null);
          return result?.data ? { ok: result.data.sendMessage } : { failed: codeOf(result?.errors) ?? 'connection' };
        });
        const launched = viaHttp.length + viaSocket.length;
        await waitFor(() => first.server.app.drain.inFlight >= launched, 'every send in flight');
        closing = first.close();
        await waitFor(() => first.server.app.drain.draining, 'the stop');
        release();
        await lock;
        const outcomes = await Promise.all([...viaHttp, ...viaSocket]);
        await closing;
        const acknowledged = outcomes.flatMap((outcome) => ('ok' in outcome ? [outcome.ok] : []));
        assert.deepEqual(outcomes.filter((outcome) => 'failed' in outcome), [], 'every send in flight finished');
        assert.equal(acknowledged.length, launched);

        const second = await startTestServer(storage.options);
        try {
          const stored = await second.server.app.prisma.message.findMany({
            where: { roomId: rawId(roomId) },
            select: { id: true, seq: true },
            orderBy: { seq: 'asc' },
          });
          assert.deepEqual(stored.map((message) => message.seq), Array.from({ length: launched }, (_, i) => i + 1));
          const storedIds = new Set(stored.map((message) => message.id));
          for (const message of acknowledged) assert.ok(storedIds.has(rawId(message.id)), `acknowledged message ${message.seq} is stored`);
        } finally {
          await second.close();
        }
      } finally {
        release();
        await (closing ?? first.close());
      }
    } finally {
      await storage.remove();
    }
  });

  it('finishes an HTTP request in flight, and closes its connection after the response', async () => {
    const api: TestServer = await startTestServer();
    const { hostname, port } = new URL(api.url);
    const body = JSON.stringify({ query: '{ me { id } }' });
    const response = new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
      const req = request(
        { host: hostname, port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest once the server is stopping.
      req.write(body.slice(0, 5));
      void waitFor(() => api.server.app.drain.draining, 'the stop').then(() => req.end(body.slice(5)));
    });
    await waitFor(() => api.server.app.drain.inFlight === 1, 'the request to arrive');
    const closing = api.close();
    const answered = await response;
    assert.equal(answered.status, 200);
    assert.deepEqual(JSON.parse(answered.text), { data: { me: null } });
    assert.equal(answered.connection, 'close');
    await closing;
  });
});
