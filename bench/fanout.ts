/**
 * `npm run bench`: the fan-out benchmark of issue 4. For each backend and each S it starts a server
 * in a child process, connects S graphql-ws subscribers (each its own user) to `messageAdded` of one
 * room, has one sender send M `sendMessage` mutations with at most W in flight, over HTTP (POST) and
 * then over one graphql-ws socket, and prints one JSON line of figures per transport (`send`). A bare
 * `ws` broadcast server doing the same traffic runs first as the ceiling, and each Parley line carries
 * its deliveries/s and p99 as ratios of the ceiling's for the same S and transport.
 *
 * Options (flags or environment; flags win):
 *   --s=10,100,1000          BENCH_S        subscriber counts
 *   --backend=embedded,postgres  BENCH_BACKEND  which Parley backends (embedded, postgres); the ceiling always runs
 *   --m=2000                 BENCH_M        messages per run (default 2000, 200 when S >= 1000)
 *   --w=32                   BENCH_W        sends in flight
 *   --send=http,ws           BENCH_SEND     how the sender sends: POST /graphql, or one graphql-ws socket
 *   --warmup=N               BENCH_WARMUP   warm-up messages before each measured run (default M/10, at most 200)
 *   --ceiling=0              BENCH_CEILING  skip the ceiling (no ratios then)
 *   --cpu-prof=DIR           BENCH_CPU_PROF run the server children (Parley and the ceiling) with --cpu-prof into DIR
 *   BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL
 *   (default redis://127.0.0.1:6379), BENCH_VERBOSE=1 (server logs on stderr).
 * JSON lines go to stdout, progress to stderr.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { checkBackendReachable, startParleyChild } from './backends.js';
import { createPoster, SocketSender, Subscriber, type Delivery, type Operation } from './clients.js';
import {
  buildIfStale,
  compiledServer,
  cpuSecondsOf,
  eventLoopOf,
  machineCpu,
  memoryOf,
  resetPeakRss,
  sampleRss,
  startChild,
  type ServerChild,
} from './processes.js';
import { option, pool, positive, quantiles, round, sleep, waitFor } from './stats.js';

// ---------------------------------------------------------------------------------------------- options

const subscriberCounts = option('s', '10,100,1000')
  .split(',')
  .map((text) => positive(text.trim(), 'S'))
  .sort((a, b) => a - b);
const backendNames = option('backend', 'embedded,postgres')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of backendNames) {
  if (!['embedded', 'postgres'].includes(name)) throw new Error(`unknown backend "${name}" (embedded, postgres)`);
}
const fixedM = option('m', '');
const messagesFor = (s: number) => (fixedM ? positive(fixedM, 'M') : s >= 1000 ? 200 : 2000);
const inFlight = positive(option('w', '32'), 'W');
type Transport = 'http' | 'ws';
const transports = option('send', 'http,ws')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean) as Transport[];
for (const name of transports) {
  if (!['http', 'ws'].includes(name)) throw new Error(`unknown send transport "${name}" (http, ws)`);
}
const warmupOption = option('warmup', '');
/** Warm-up messages before the measured ones (JIT, caches, connection pools): a tenth of M, at most 200. */
const warmupFor = (m: number) => (warmupOption ? Number(warmupOption) : Math.min(200, Math.ceil(m / 10)));
const runCeiling = option('ceiling', '1') !== '0';
const cpuProfDir = option('cpu-prof', '');
const maxMinutes = Number(process.env.BENCH_MAX_MINUTES || 80);

const log = (text: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

// Whatever happens, children do not outlive the benchmark, and the run ends.
const children = new Set<ServerChild>();
process.on('exit', () => {
  for (const child of children) child.child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
setTimeout(() => {
  log(`giving up after ${maxMinutes} minutes`);
  process.exit(2);
}, maxMinutes * 60_000).unref();

// -------------------------------------------------------------------------------------------- targets

/** What a run needs from a server: identities, a room, and the texts of the operations. */
interface Setup {
  senderToken: string | null;
  subscriberTokens: (string | null)[];
  subscription: { query: string; variables: Record<string, unknown> };
  /** The operation that sends a message with this body and idempotency key. */
  sendOperation(body: string, clientMessageId: string): Operation;
}

interface Target {
  backend: string;
  server: ServerChild;
  prepare(subscribers: number): Promise<Setup>;
  close(): Promise<void>;
}

const SEND = 'mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }';
const SUBSCRIBE =
  'subscription BenchMessages($roomId: ID!) { messageAdded(roomId: $roomId) { id seq body createdAt author { id username } } }';
const SIGN_UP = 'mutation BenchSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const CREATE_ROOM = 'mutation BenchRoom($input: CreateRoomInput!) { createRoom(input: $input) { id } }';
const ADD_MEMBERS =
  'mutation BenchAdd($roomId: ID!, $userIds: [ID!]!) { addMembers(roomId: $roomId, userIds: $userIds) { role } }';
const MAX_USERS_PER_CALL = 100;
/** A send answered later than this counts as failed (it is not retried). */
const SEND_TIMEOUT_MS = 120_000;

/** With --cpu-prof, one folder per server: V8 writes a profile per thread (main thread: the largest, `*.0.001.cpuprofile`). */
function profilingArgs(label: string): string[] {
  if (!cpuProfDir) return [];
  const profileDir = join(resolve(cpuProfDir), `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  log(`${label}: CPU profiles go to ${profileDir}`);
  return ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
}

async function startCeiling(): Promise<Target> {
  const server = await startChild('bench/ceiling-server.ts', {}, { marker: 'ceiling listening', label: 'ceiling', nodeArgs: profilingArgs('ceiling') });
  children.add(server);
  return {
    backend: 'ceiling',
    server,
    prepare: async (subscribers) => ({
      senderToken: null,
      subscriberTokens: Array.from({ length: subscribers }, () => null),
      subscription: { query: SUBSCRIBE, variables: { roomId: 'ceiling' } },
      sendOperation: (body, clientMessageId) => ({ query: SEND, variables: { input: { roomId: 'ceiling', body, clientMessageId } } }),
    }),
    close: async () => {
      await server.stop();
      children.delete(server);
    },
  };
}

async function startParley(backend: 'embedded' | 'postgres'): Promise<Target> {
  const { server, cleanup } = await startParleyChild(backend, profilingArgs(backend));
  children.add(server);
  const poster = createPoster(server.url, 8);
  const users: { id: string; token: string }[] = [];
  const tag = randomBytes(3).toString('hex');
  const ensureUsers = async (count: number) => {
    const missing = count - users.length;
    if (missing <= 0) return;
    log(`${backend}: signing up ${missing} users`);
    const created: { id: string; token: string }[] = new Array(missing);
    const first = users.length;
    await pool(missing, 4, async (k) => {
      const data = await poster.graphql<{ signUp: { token: string; user: { id: string } } }>(
        SIGN_UP,
        { input: { username: `b${tag}_${first + k}`, password: 'bench password 1234' } },
        null,
      );
      created[k] = { id: data.signUp.user.id, token: data.signUp.token };
    });
    users.push(...created);
  };
  return {
    backend: backend === 'postgres' ? 'postgres+redis' : backend,
    server,
    prepare: async (subscribers) => {
      await ensureUsers(subscribers + 1);
      const [sender, ...others] = users.slice(0, subscribers + 1);
      const members = others.map((user) => user.id);
      const room = await poster.graphql<{ createRoom: { id: string } }>(
        CREATE_ROOM,
        { input: { name: `bench ${subscribers}`, visibility: 'PRIVATE', memberIds: members.slice(0, MAX_USERS_PER_CALL) } },
        sender!.token,
      );
      const roomId = room.createRoom.id;
      for (let from = MAX_USERS_PER_CALL; from < members.length; from += MAX_USERS_PER_CALL) {
        await poster.graphql(ADD_MEMBERS, { roomId, userIds: members.slice(from, from + MAX_USERS_PER_CALL) }, sender!.token);
      }
      return {
        senderToken: sender!.token,
        subscriberTokens: others.map((user) => user.token),
        subscription: { query: SUBSCRIBE, variables: { roomId } },
        sendOperation: (body, clientMessageId) => ({ query: SEND, variables: { input: { roomId, body, clientMessageId } } }),
      };
    },
    close: async () => {
      poster.close();
      await server.stop();
      children.delete(server);
      await cleanup();
    },
  };
}

// ------------------------------------------------------------------------------------------------ run

interface Figures {
  backend: string;
  /** How the sender sent: POST /graphql, or one graphql-ws socket. */
  send: Transport;
  S: number;
  M: number;
  W: number;
  sendsPerS: number;
  deliveriesPerS: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  sendLatencyMs: { p50: number; p99: number; max: number };
  expected: number;
  received: number;
  lost: number;
  duplicates: number;
  outOfOrder: number;
  gaps: number;
  sendErrors: number;
  sendRetries: number;
  subscriberProblems: number;
  firstProblem?: string;
  durationS: number;
  serverRssPeakMB: number;
  serverRssBeforeMB: number;
  /** CPU over the measured phase in percent of one core (the machine has 2: 200 = saturated). */
  cpuPct: { server: number; client: number; rest: number };
  loadAvg1m: number;
  [extra: string]: unknown;
}

/** Sends count messages, at most window in flight; resolves when every send has answered. */
async function sendWindowed(
  count: number,
  window: number,
  send: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(window, count) }, async () => {
      while (next < count) await send(next++);
    }),
  );
}

async function runOne(target: Target, setup: Setup, transport: Transport, S: number, M: number, W: number): Promise<Figures> {
  const { server } = target;
  const backend = `${target.backend} (${transport})`;
  const poster = createPoster(server.url, W);
  const socketSender = transport === 'ws' ? new SocketSender(server.wsUrl, setup.senderToken) : null;
  /** Sends one operation the run's way; resolves with its result. */
  const transmit = async (operation: Operation): Promise<unknown> => {
    if (socketSender) return socketSender.send(operation, SEND_TIMEOUT_MS);
    const { status, json } = await poster.post(JSON.stringify(operation), setup.senderToken, SEND_TIMEOUT_MS);
    if (status !== 200) throw new Error(`HTTP ${status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json;
  };
  resetPeakRss(server.pid);
  const rssBefore = memoryOf(server.pid).rssMB;
  const rss = sampleRss(server.pid);

  // What the subscribers receive, routed by body: "p:" probes, "w:" warm-up, "m:<i>" measured message i.
  const sendStart = new Float64Array(M);
  const sendLatency = new Float64Array(M);
  const latencies = new Float64Array(S * M);
  const seen = new Uint8Array(S * M);
  let received = 0;
  let duplicates = 0;
  let lastDeliveryAt = 0;
  let warmReceived = 0;
  const onDelivery = (subscriber: Subscriber, delivery: Delivery, at: number) => {
    const body = delivery.body;
    if (body.charCodeAt(0) === 109 /* m */) {
      const index = Number(body.slice(2));
      const slot = subscriber.index * M + index;
      if (seen[slot]) {
        duplicates++;
        return;
      }
      seen[slot] = 1;
      latencies[received++] = at - sendStart[index]!;
      lastDeliveryAt = at;
    } else if (body.charCodeAt(0) === 119 /* w */) warmReceived++;
  };

  const subscribers = Array.from({ length: S }, (_, index) => new Subscriber(index, server.wsUrl, setup.subscriberTokens[index]!, onDelivery));
  let sendErrors = 0;
  let sendRetries = 0;
  let firstSendError: string | undefined;
  const runTag = randomBytes(4).toString('hex');
  const sendFailures = new Map<string, number>();
  const noteFailure = (text: string) => sendFailures.set(text.slice(0, 120), (sendFailures.get(text.slice(0, 120)) ?? 0) + 1);
  /**
   * Sends one message. Like a real client it sends a clientMessageId and retries a send whose
   * connection failed (a keep-alive socket closed under it, ECONNRESET): the id makes the retry
   * return the original message instead of a duplicate. GraphQL errors are not retried.
   */
  const send = async (body: string) => {
    const operation = setup.sendOperation(body, `${runTag}-${body}`);
    for (let attempt = 1; ; attempt++) {
      try {
        const result = (await transmit(operation)) as { data?: { sendMessage?: { seq?: number } } | null; errors?: unknown[] };
        if (result.errors?.length || typeof result.data?.sendMessage?.seq !== 'number') {
          throw new Error(`${transport}: ${JSON.stringify(result).slice(0, 300)}`);
        }
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        // Only a connection that failed before the request was read is retried; a timed-out request
        // may still be queued in the server, and retrying it would add load.
        const retryable = ['ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code) || (error as Error).message === 'socket hang up';
        noteFailure(`${retryable && attempt < 4 ? 'retried: ' : ''}${(error as Error).message}`);
        if (retryable && attempt < 4) {
          sendRetries++;
          continue;
        }
        sendErrors++;
        firstSendError ??= (error as Error).message;
        return;
      }
    }
  };

  try {
    await socketSender?.connect();
    log(`${backend} S=${S}: connecting ${S} subscribers`);
    await pool(S, 50, async (index) => {
      const subscriber = subscribers[index]!;
      await subscriber.connect();
      subscriber.subscribe(setup.subscription.query, setup.subscription.variables);
    });

    // Subscriptions start listening asynchronously: probe until every subscriber receives one.
    let probes = 0;
    const allListening = () => subscribers.every((subscriber) => subscriber.deliveries > 0);
    while (!allListening()) {
      if (++probes > 60) throw new Error(`only ${subscribers.filter((s) => s.deliveries > 0).length}/${S} subscribers received a probe`);
      await send(`p:${probes}`);
      if (sendErrors > 0) throw new Error(`probe send failed: ${firstSendError}`);
      await waitFor(allListening, 1000);
    }
    const warmup = Math.min(warmupFor(M), M);
    if (warmup > 0) {
      log(`${backend} S=${S}: warming up with ${warmup} messages`);
      await sendWindowed(warmup, W, (index) => send(`w:${index}`));
      await waitFor(() => warmReceived >= warmup * S, 60_000);
      if (sendErrors > 0) throw new Error(`warm-up send failed: ${firstSendError}`);
    }
    const retriesBefore = sendRetries;
    firstSendError = undefined;
    sendFailures.clear();
    const problemsBefore = subscribers.map((subscriber) => subscriber.problems.length);
    const gapsBefore = subscribers.reduce((sum, subscriber) => sum + subscriber.gaps, 0);
    const backwardsBefore = subscribers.reduce((sum, subscriber) => sum + subscriber.backwards, 0);
    await sleep(300);

    // ------------------------------------------------------------------------------- measured phase
    log(`${backend} S=${S}: sending ${M} messages, ${W} in flight`);
    const loop0 = await eventLoopOf(server.url);
    const serverCpu0 = cpuSecondsOf(server.pid);
    const machine0 = machineCpu();
    const client0 = process.cpuUsage();
    const window0 = process.hrtime.bigint() / 1000n;
    const t0 = performance.now();
    let lastSendDone = t0;
    await sendWindowed(M, W, async (index) => {
      const start = performance.now();
      sendStart[index] = start;
      await send(`m:${index}`);
      const end = performance.now();
      sendLatency[index] = end - start;
      if (end > lastSendDone) lastSendDone = end;
    });
    // Wait for the stragglers: until everything arrived, or nothing arrived for 15 s.
    const expected = S * M;
    let progressAt = performance.now();
    let progress = received;
    while (received < expected) {
      await sleep(20);
      if (received !== progress) {
        progress = received;
        progressAt = performance.now();
      } else if (performance.now() - progressAt > 15_000) break;
    }
    const end = received === expected ? lastDeliveryAt : Math.max(lastDeliveryAt, lastSendDone);
    const serverCpu = cpuSecondsOf(server.pid) - serverCpu0;
    const loop1 = await eventLoopOf(server.url);
    const machine1 = machineCpu();
    const client = process.cpuUsage(client0);
    const elapsedS = (end - t0) / 1000;
    const wallS = (performance.now() - t0) / 1000;
    const clientCpu = (client.user + client.system) / 1e6;
    const machineBusy = machine1.busy - machine0.busy;

    const [p50, p95, p99, max] = quantiles(latencies, received, [0.5, 0.95, 0.99, 1]);
    const [s50, s99, smax] = quantiles(sendLatency, M, [0.5, 0.99, 1]);
    const problems = subscribers.flatMap((subscriber, index) => subscriber.problems.slice(problemsBefore[index]));
    const peak = Math.max(rss.stop(), memoryOf(server.pid).hwmMB);
    return {
      backend: target.backend,
      send: transport,
      S,
      M,
      W,
      sendsPerS: round(M / ((lastSendDone - t0) / 1000)),
      deliveriesPerS: round(received / elapsedS),
      latencyMs: { p50: round(p50!), p95: round(p95!), p99: round(p99!), max: round(max!) },
      sendLatencyMs: { p50: round(s50!), p99: round(s99!), max: round(smax!) },
      expected,
      received,
      lost: expected - received,
      duplicates,
      outOfOrder: subscribers.reduce((sum, subscriber) => sum + subscriber.backwards, 0) - backwardsBefore,
      gaps: subscribers.reduce((sum, subscriber) => sum + subscriber.gaps, 0) - gapsBefore,
      sendErrors,
      sendRetries: sendRetries - retriesBefore,
      ...(sendFailures.size ? { sendFailures: Object.fromEntries(sendFailures) } : {}),
      subscriberProblems: problems.length,
      ...(problems.length || firstSendError ? { firstProblem: (problems[0] ?? firstSendError)!.slice(0, 300) } : {}),
      durationS: round(elapsedS),
      serverRssPeakMB: round(peak),
      serverRssBeforeMB: round(rssBefore),
      cpuPct: {
        server: round((100 * serverCpu) / wallS),
        client: round((100 * clientCpu) / wallS),
        // Everything else on the machine: PostgreSQL and Redis, and any other load.
        rest: round((100 * (machineBusy - serverCpu - clientCpu)) / wallS),
      },
      ...(loop0 && loop1
        ? { serverEventLoop: { delayMs: loop1.delayMs, gcSharePct: round((100 * (loop1.gcSeconds - loop0.gcSeconds)) / wallS) } }
        : {}),
      loadAvg1m: loadavg()[0]!,
      ...(cpuProfDir ? { profileWindowUs: [Number(window0), Number(process.hrtime.bigint() / 1000n)] } : {}),
    };
  } finally {
    rss.stop();
    poster.close();
    socketSender?.close();
    await pool(S, 200, (index) => subscribers[index]!.close());
    // Let the server process the disconnects (presence, iterators) before the next run.
    await sleep(S >= 1000 ? 3000 : 1000);
  }
}

// ----------------------------------------------------------------------------------------------- main

function withRatios(figures: Figures, ceiling: Figures | undefined): Figures {
  const ratios = ceiling
    ? {
        ceiling: { deliveriesPerS: ceiling.deliveriesPerS, p99Ms: ceiling.latencyMs.p99, M: ceiling.M, W: ceiling.W },
        deliveriesRatio: round(figures.deliveriesPerS / ceiling.deliveriesPerS),
        p99Ratio: round(figures.latencyMs.p99 / ceiling.latencyMs.p99),
      }
    : {};
  const targets = {
    lostZero: figures.lost === 0 && figures.duplicates === 0 && figures.outOfOrder === 0 && figures.gaps === 0,
    ...(ceiling
      ? {
          deliveriesRatioAtLeastHalf: figures.deliveriesPerS / ceiling.deliveriesPerS >= 0.5,
          p99AtMostTwiceCeiling: figures.latencyMs.p99 <= 2 * ceiling.latencyMs.p99,
        }
      : {}),
    // The ratio and p99 targets are stated for this configuration.
    targetConfiguration: figures.S === 100 && figures.M === 2000 && figures.W === 32,
  };
  return { ...figures, ...ratios, targets };
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  buildIfStale();
  const date = new Date().toISOString();
  log(`S=${subscriberCounts.join(',')} backends=${backendNames.join(',')} send=${transports.join(',')} W=${inFlight} ceiling=${runCeiling} (${date})`);
  /** The ceiling's figures by S and transport. */
  const ceilings = new Map<string, Figures>();
  const ceilingKey = (S: number, transport: Transport) => `${S}/${transport}`;
  let failures = 0;
  const runAll = async (name: string, start: () => Promise<Target>, record?: (figures: Figures) => void) => {
    const unreachable = await checkBackendReachable(name);
    if (unreachable) {
      print({ backend: name, skipped: unreachable });
      failures++;
      return;
    }
    let target: Target;
    try {
      target = await start();
    } catch (error) {
      print({ backend: name, error: `server failed to start: ${(error as Error).message.slice(0, 500)}` });
      failures++;
      return;
    }
    try {
      for (const S of subscriberCounts) {
        const M = messagesFor(S);
        let setup: Setup;
        try {
          log(`${target.backend} S=${S} M=${M} W=${inFlight}: preparing`);
          setup = await target.prepare(S);
        } catch (error) {
          failures++;
          print({ backend: target.backend, S, M, W: inFlight, error: `prepare failed: ${(error as Error).message.slice(0, 500)}`, date });
          continue;
        }
        // The same users and room for each transport: only how the sender sends differs.
        for (const transport of transports) {
          try {
            const figures = await runOne(target, setup, transport, S, M, inFlight);
            record?.(figures);
            const ceiling = ceilings.get(ceilingKey(S, transport));
            print(target.backend === 'ceiling' ? { ...figures, date } : { ...withRatios(figures, ceiling), date });
            // Losing, repeating or reordering a message fails the run, whatever the speed.
            if (figures.lost || figures.duplicates || figures.outOfOrder || figures.gaps) failures++;
          } catch (error) {
            failures++;
            print({ backend: target.backend, send: transport, S, M, W: inFlight, error: (error as Error).message.slice(0, 500), date });
          }
        }
      }
    } finally {
      await target.close();
    }
  };
  if (runCeiling) await runAll('ceiling', startCeiling, (figures) => ceilings.set(ceilingKey(figures.S, figures.send), figures));
  for (const name of backendNames) {
    await runAll(name === 'postgres' ? 'postgres+redis' : name, () => startParley(name as 'embedded' | 'postgres'));
  }
  log('done');
  process.exitCode = failures > 0 ? 1 : 0;
}

await main();
// Sockets and timers of failed runs must not keep the process alive.
process.exit(process.exitCode ?? 0);
