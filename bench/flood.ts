/**
 * `npm run bench:flood`: memory under abuse (issue 11). For each backend it starts a server in a child
 * process and floods it as an attacker would: anonymous sockets that send `connection_init` and
 * nothing else, signed-in sockets each holding as many subscriptions as they may, and sends that fan
 * out to all of them. Then every socket closes, the server is left to settle and is garbage-collected
 * (through its inspector), and one JSON line says what the server held: RSS and heap before the flood,
 * at its peak, and after.
 *
 * Options (flags or environment; flags win):
 *   --backend=embedded,postgres   BENCH_BACKEND     which backends
 *   --anonymous=1000              BENCH_ANONYMOUS   anonymous sockets
 *   --sockets=50                  BENCH_SOCKETS     signed-in sockets (one user each)
 *   --subscriptions=100           BENCH_SUBSCRIPTIONS  subscriptions per signed-in socket
 *   --sends=20                    BENCH_SENDS       messages sent to the room they all follow
 *   --rounds=2                    BENCH_ROUNDS      floods per server (a leak grows from round to round)
 *   --limits=off                  BENCH_LIMITS      RATE_LIMITS of the server: off floods without refusals
 * JSON lines go to stdout, progress to stderr.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { checkBackendReachable, startParleyChild } from './backends.js';
import { createPoster } from './clients.js';
import { memoryOf, resetPeakRss, sampleRss, type ServerChild } from './processes.js';
import { option, pool, round, sleep, waitFor } from './stats.js';

const count = (name: string, fallback: number) => {
  const value = Number(option(name, String(fallback)));
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number`);
  return value;
};

const backends = option('backend', 'embedded,postgres').split(',').map((name) => name.trim()) as ('embedded' | 'postgres')[];
const anonymousCount = count('anonymous', 1000);
const socketCount = count('sockets', 50);
const subscriptionsPerSocket = count('subscriptions', 100);
const sendCount = count('sends', 20);
const rounds = count('rounds', 2);
const rateLimits = option('limits', 'off');

const log = (text: string) => process.stderr.write(`[flood ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const SIGN_UP = 'mutation FloodSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const CREATE_ROOM = 'mutation FloodRoom($input: CreateRoomInput!) { createRoom(input: $input) { id } }';
const SEND = 'mutation FloodSend($input: SendMessageInput!) { sendMessage(input: $input) { seq } }';
const SUBSCRIBE = 'subscription FloodMessages($roomId: ID!) { messageAdded(roomId: $roomId) { id seq body author { id username } } }';

/** A free local port, for the child's inspector. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The child's inspector: a full garbage collection, and process.memoryUsage() in MiB. */
async function inspector(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 1;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<{ result?: { result?: { value?: unknown } } }>((resolve) => {
      const id = nextId++;
      const onMessage = (data: Buffer) => {
        const reply = JSON.parse(String(data)) as { id?: number };
        if (reply.id !== id) return;
        socket.off('message', onMessage);
        resolve(reply as never);
      };
      socket.on('message', onMessage);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async collectedMemory(): Promise<{ rssMB: number; heapMB: number }> {
      await call('HeapProfiler.collectGarbage');
      const reply = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
      const usage = JSON.parse(String(reply.result?.result?.value)) as { rss: number; heapUsed: number };
      return { rssMB: round(usage.rss / 2 ** 20), heapMB: round(usage.heapUsed / 2 ** 20) };
    },
    close: () => socket.close(),
  };
}

/** A graphql-transport-ws socket, acknowledged; null when the server refused it. */
async function openSocket(wsUrl: string, token: string | null, onMessage: (message: { type: string }) => void = () => {}) {
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
  const opened = await new Promise<boolean>((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('error', () => resolve(false));
  });
  if (!opened) return null;
  const acked = new Promise<boolean>((resolve) => {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') resolve(true);
      onMessage(message);
    });
    socket.once('close', () => resolve(false));
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authToken: token } : {} }));
  return (await acked) ? socket : null;
}

const closeAll = (sockets: WebSocket[]) =>
  Promise.all(
    sockets.map((socket) =>
      socket.readyState === WebSocket.CLOSED ? undefined : new Promise((resolve) => socket.once('close', resolve).close()),
    ),
  );

async function run(backend: 'embedded' | 'postgres') {
  const unreachable = await checkBackendReachable(backend === 'postgres' ? 'postgres+redis' : backend);
  if (unreachable) {
    log(`${backend}: skipped, ${unreachable}`);
    return;
  }
  const inspectPort = await freePort();
  const { server, cleanup } = await startParleyChild(backend, [`--inspect=127.0.0.1:${inspectPort}`], { RATE_LIMITS: rateLimits });
  const poster = createPoster(server.url, 8);
  const probe = await inspector(inspectPort);
  try {
    const tag = randomBytes(3).toString('hex');
    log(`${backend}: signing up ${socketCount} users`);
    const users: { id: string; token: string }[] = new Array(socketCount);
    await pool(socketCount, 4, async (k) => {
      const data = await poster.graphql<{ signUp: { token: string; user: { id: string } } }>(
        SIGN_UP,
        { input: { username: `f${tag}_${k}`, password: 'flood password 1234' } },
        null,
      );
      users[k] = { id: data.signUp.user.id, token: data.signUp.token };
    });
    const sender = users[0]!;
    const room = await poster.graphql<{ createRoom: { id: string } }>(
      CREATE_ROOM,
      { input: { name: 'flood', visibility: 'PRIVATE', memberIds: users.slice(1).map((user) => user.id) } },
      sender.token,
    );
    const roomId = room.createRoom.id;

    for (let roundIndex = 1; roundIndex <= rounds; roundIndex++) {
      await sleep(2000);
      const before = await probe.collectedMemory();
      resetPeakRss(server.pid);
      const rss = sampleRss(server.pid);

      log(`${backend} round ${roundIndex}: ${anonymousCount} anonymous sockets`);
      const anonymous = (await Promise.all(Array.from({ length: anonymousCount }, () => openSocket(server.wsUrl, null)))).filter(
        (socket): socket is WebSocket => socket !== null,
      );
      log(`${backend} round ${roundIndex}: ${socketCount} sockets × ${subscriptionsPerSocket} subscriptions`);
      let deliveries = 0;
      let refusedSubscriptions = 0;
      const onMessage = (message: { type: string }) => {
        if (message.type === 'next') deliveries++;
        else if (message.type === 'error') refusedSubscriptions++;
      };
      const signedIn = (await Promise.all(users.map((user) => openSocket(server.wsUrl, user.token, onMessage)))).filter(
        (socket): socket is WebSocket => socket !== null,
      );
      for (const socket of signedIn) {
        for (let i = 0; i < subscriptionsPerSocket; i++) {
          socket.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: SUBSCRIBE, variables: { roomId } } }));
        }
      }
      await sleep(3000);
      log(`${backend} round ${roundIndex}: ${sendCount} sends`);
      for (let i = 0; i < sendCount; i++) {
        await poster.graphql(SEND, { input: { roomId, body: `flood ${roundIndex}.${i}` } }, sender.token).catch(() => {});
      }
      const expected = (signedIn.length * subscriptionsPerSocket - refusedSubscriptions) * sendCount;
      await waitFor(() => deliveries >= expected, 180_000, 200);
      const peak = memoryOf(server.pid);

      await closeAll([...anonymous, ...signedIn]);
      const peakRss = rss.stop();
      await sleep(3000);
      const after = await probe.collectedMemory();
      process.stdout.write(
        `${JSON.stringify({
          scenario: 'flood',
          backend: backend === 'postgres' ? 'postgres+redis' : backend,
          rateLimits,
          round: roundIndex,
          anonymousSockets: anonymous.length,
          signedInSockets: signedIn.length,
          subscriptions: signedIn.length * subscriptionsPerSocket - refusedSubscriptions,
          refusedSubscriptions,
          sends: sendCount,
          deliveries,
          rssBeforeMB: before.rssMB,
          heapBeforeMB: before.heapMB,
          rssPeakMB: round(Math.max(peakRss, peak.hwmMB)),
          rssAfterMB: after.rssMB,
          heapAfterMB: after.heapMB,
        })}\n`,
      );
    }
  } finally {
    probe.close();
    poster.close();
    await server.stop();
    await cleanup();
  }
}

for (const backend of backends) await run(backend);
