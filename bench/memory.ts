/**
 * `npm run bench` (after the fan-out): memory of the server as `npm start` runs it, on each backend.
 * Prints one JSON line per backend: RSS idle after start-up, RSS with N idle authenticated sockets
 * holding 2 subscriptions each (messageAdded of a room and myEvents), the cost per socket, and RSS
 * once they have all closed.
 *
 * Options (flags or environment; flags win):
 *   --sockets=10000     BENCH_SOCKETS   idle sockets
 *   --users=200         BENCH_USERS     users they sign in as (round robin: signing up 10,000 takes minutes of argon2)
 *   --backend=embedded,postgres  BENCH_BACKEND
 *   --heap-snapshots=DIR BENCH_HEAP_SNAPSHOTS  also writes the server's heap before and with the sockets
 *                       there (compare them with bench/heap-diff.ts)
 *   BENCH_DATABASE_URL, BENCH_REDIS_URL as for the fan-out.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import WebSocket from 'ws';
import { createPoster } from './clients.js';
import { startParleyChild } from './backends.js';
import { buildIfStale, memoryOf, type ServerChild } from './processes.js';
import { option, pool, round, sleep } from './stats.js';

const socketCount = Number(option('sockets', '10000'));
const userCount = Number(option('users', '200'));
const backends = option('backend', 'embedded,postgres')
  .split(',')
  .map((name) => name.trim())
  .map((name) => {
    if (name !== 'embedded' && name !== 'postgres') throw new Error(`unknown backend "${name}" (embedded, postgres)`);
    return name;
  });
/** Settling time before a reading: the server finishes what the last burst started. */
const SETTLE_MS = 5000;
/** Before the idle reading: the server collects its start-up garbage 5 s after it starts (src/main.ts). */
const IDLE_SETTLE_MS = 10_000;
const heapSnapshots = option('heap-snapshots', '');

const log = (text: string) => process.stderr.write(`[memory ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const SIGN_UP = 'mutation MemSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const CREATE_ROOM = 'mutation MemRoom($input: CreateRoomInput!) { createRoom(input: $input) { id } }';
const ADD_MEMBERS = 'mutation MemAdd($roomId: ID!, $userIds: [ID!]!) { addMembers(roomId: $roomId, userIds: $userIds) { role } }';
const MESSAGES = 'subscription MemMessages($roomId: ID!) { messageAdded(roomId: $roomId) { id seq body author { id } } }';
const MY_EVENTS = 'subscription MemMine { myEvents { __typename ... on MessageAdded { message { id seq } } } }';

async function startServer(backend: 'embedded' | 'postgres'): Promise<{ server: ServerChild; cleanup: () => Promise<void> }> {
  const nodeArgs = heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshots}`] : [];
  const { server, cleanup } = await startParleyChild(backend, nodeArgs);
  return {
    server,
    cleanup: async () => {
      await server.stop();
      await cleanup();
    },
  };
}

/** With --heap-snapshots: has the server write a heap snapshot, and waits until it is written. */
async function heapSnapshot(server: ServerChild, what: string): Promise<void> {
  if (!heapSnapshots) return;
  mkdirSync(heapSnapshots, { recursive: true });
  const count = readdirSync(heapSnapshots).length;
  process.kill(server.pid, 'SIGUSR2');
  // The file appears when V8 starts writing it and is complete once the server answers again.
  while (readdirSync(heapSnapshots).length === count) await sleep(200);
  await metric(server.url, 'parley_websocket_connections');
  log(`heap snapshot ${what} written`);
}

/** A bare graphql-ws client: connects with a token, subscribes, and then only answers pings. */
function idleSocket(url: string, token: string, roomId: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const timer = setTimeout(() => reject(new Error('no connection_ack within 5 minutes')), 300_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authToken: token } })));
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'ping') socket.send('{"type":"pong"}');
      if (message.type !== 'connection_ack') return;
      clearTimeout(timer);
      socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: MESSAGES, variables: { roomId } } }));
      socket.send(JSON.stringify({ id: '2', type: 'subscribe', payload: { query: MY_EVENTS } }));
      resolve(socket);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Sums a metric's samples from /metrics. */
async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', url))).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

async function waitForMetric(url: string, name: string, wanted: number, what: string): Promise<void> {
  // A scrape can fail while thousands of sockets open or close at once: it counts as not yet.
  for (let waited = 0; (await metric(url, name).catch(() => Number.NaN)) !== wanted; waited += 500) {
    if (waited > 600_000) throw new Error(`${what}: ${name} never reached ${wanted}`);
    await sleep(500);
  }
}

async function measure(backend: 'embedded' | 'postgres'): Promise<Record<string, unknown>> {
  const { server, cleanup } = await startServer(backend);
  try {
    await sleep(IDLE_SETTLE_MS);
    const idle = memoryOf(server.pid).rssMB;
    log(`${backend}: idle RSS ${round(idle)} MB; signing up ${userCount} users`);
    const poster = createPoster(server.url, 8);
    const tag = randomBytes(3).toString('hex');
    const users: { id: string; token: string }[] = new Array(userCount);
    await pool(userCount, 4, async (k) => {
      const data = await poster.graphql<{ signUp: { token: string; user: { id: string } } }>(
        SIGN_UP,
        { input: { username: `m${tag}_${k}`, password: 'memory bench password' } },
        null,
      );
      users[k] = { id: data.signUp.user.id, token: data.signUp.token };
    });
    const [owner, ...others] = users as [{ id: string; token: string }, ...{ id: string; token: string }[]];
    const room = await poster.graphql<{ createRoom: { id: string } }>(CREATE_ROOM, { input: { name: 'memory', visibility: 'PRIVATE' } }, owner.token);
    const roomId = room.createRoom.id;
    for (let from = 0; from < others.length; from += 100) {
      await poster.graphql(ADD_MEMBERS, { roomId, userIds: others.slice(from, from + 100).map((user) => user.id) }, owner.token);
    }
    await sleep(SETTLE_MS);
    const beforeSockets = memoryOf(server.pid).rssMB;
    await heapSnapshot(server, 'before the sockets');
    log(`${backend}: opening ${socketCount} sockets with 2 subscriptions each`);
    const sockets: WebSocket[] = new Array(socketCount);
    await pool(socketCount, 50, async (k) => {
      sockets[k] = await idleSocket(server.wsUrl, users[k % users.length]!.token, roomId);
    });
    await waitForMetric(server.url, 'parley_subscriptions', 2 * socketCount, 'subscriptions');
    await sleep(SETTLE_MS);
    const withSockets = memoryOf(server.pid).rssMB;
    await heapSnapshot(server, 'with the sockets');
    log(`${backend}: ${round(withSockets)} MB with the sockets; closing them`);
    for (const socket of sockets) socket.close(1000);
    await waitForMetric(server.url, 'parley_websocket_connections', 0, 'sockets closing');
    await sleep(SETTLE_MS);
    const afterClose = memoryOf(server.pid).rssMB;
    poster.close();
    return {
      backend: backend === 'postgres' ? 'postgres+redis' : backend,
      sockets: socketCount,
      subscriptionsPerSocket: 2,
      users: userCount,
      idleRssMB: round(idle),
      rssBeforeSocketsMB: round(beforeSockets),
      rssWithSocketsMB: round(withSockets),
      perSocketKB: round(((withSockets - beforeSockets) * 1024) / socketCount),
      rssAfterCloseMB: round(afterClose),
    };
  } finally {
    await cleanup();
  }
}

buildIfStale();
for (const backend of backends) {
  process.stdout.write(`${JSON.stringify(await measure(backend))}\n`);
}
