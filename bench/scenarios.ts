/**
 * `npm run bench` (second part): the write and read shapes of issue 13, each beside the no-op
 * request rate of the same transport in the same run, since the machine's speed varies from run to
 * run and only ratios compare. For each backend it starts one server (a child process) and prints
 * one JSON line per scenario and transport:
 *
 * - `many-rooms`: R rooms, one author each (its own user and token); M sends spread over the rooms,
 *   W in flight, over HTTP (keep-alive POSTs) and over graphql-ws (one socket per author). Beside it
 *   M `{ __typename }` requests with the same tokens, transport and W. `ratio` = sends/s ÷ no-op/s.
 *   Beside it the CPU per operation of the server (`serverCpuMsPer*`), of this client
 *   (`clientCpuMsPer*`) and of the whole machine (`machineCpuMsPer*`: the rest is the database
 *   server and Redis); `machineCpuRatio` = no-op's ÷ send's machine CPU, the ratio a machine whose
 *   cores are all busy in both phases allows.
 * - `hot-room`: A authors in one room, all sending at once (one in flight each), same comparison.
 * - `history`: a room of H messages, stored by one bulk INSERT in the setup (not H sends); over one
 *   graphql-ws socket and over one keep-alive HTTP connection, one at a time, a page of 100
 *   (`last: 100`, and `last: 100, before:` a cursor in the middle of the history) beside
 *   `{ __typename }` on the same transport: p50/p99 and their ratios.
 *
 * Sends are checked: every answer carries a seq, and each room's seqs must come out as consecutive
 * numbers with none twice (`seqGaps`, `duplicateSeqs`), and the room's lastSeq must match.
 *
 * Options (flags or environment; flags win):
 *   --backend=embedded,postgres  BENCH_BACKEND
 *   --scenario=many-rooms,hot-room,history  BENCH_SCENARIO
 *   --send=http,ws      BENCH_SEND     transports of the send and history scenarios
 *   --rooms=100         BENCH_ROOMS    R
 *   --authors=50        BENCH_AUTHORS  A
 *   --sends=2000        BENCH_SENDS    M, per scenario and transport (the no-op runs as many)
 *   --w=64              BENCH_W        in flight in many-rooms
 *   --history=100000    BENCH_HISTORY  H
 *   --pages=300         BENCH_PAGES    pages (and no-op queries) per history measurement
 *   --cpu-prof=DIR      BENCH_CPU_PROF run the server with --cpu-prof into DIR
 *   BENCH_DATABASE_URL, BENCH_REDIS_URL as for bench/fanout.ts.
 * JSON lines go to stdout, progress to stderr. Exits non-zero when a seq is missing or repeated.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseId } from '../src/ids.js';
import { checkBackendReachable, startParleyChild } from './backends.js';
import { createPoster, SocketSender, type Operation } from './clients.js';
import { buildIfStale, cpuSecondsOf, machineCpu, type ServerChild } from './processes.js';
import { option, pool, positive, quantiles, round } from './stats.js';

const list = (name: string, fallback: string, allowed: string[]) =>
  option(name, fallback)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => {
      if (item && !allowed.includes(item)) throw new Error(`unknown ${name} "${item}" (${allowed.join(', ')})`);
      return item;
    });
const backendNames = list('backend', 'embedded,postgres', ['embedded', 'postgres']) as ('embedded' | 'postgres')[];
const scenarios = list('scenario', 'many-rooms,hot-room,history', ['many-rooms', 'hot-room', 'history']);
type Transport = 'http' | 'ws';
const transports = list('send', 'http,ws', ['http', 'ws']) as Transport[];
const roomCount = positive(option('rooms', '100'), 'rooms');
const authorCount = positive(option('authors', '50'), 'authors');
const sendCount = positive(option('sends', '2000'), 'sends');
const inFlight = positive(option('w', '64'), 'W');
const historySize = positive(option('history', '100000'), 'history');
const pageCount = positive(option('pages', '300'), 'pages');
const cpuProfDir = option('cpu-prof', '');

const log = (text: string) => process.stderr.write(`[scenarios ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const SIGN_UP = 'mutation BenchSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const CREATE_ROOM = 'mutation BenchRoom($input: CreateRoomInput!) { createRoom(input: $input) { id } }';
const SEND = 'mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }';
const NO_OP = '{ __typename }';
const LAST_SEQ = 'query BenchLastSeq($id: ID!) { room(id: $id) { lastSeq } }';
const PAGE = `query BenchPage($id: ID!, $before: String) {
  room(id: $id) { messages(last: 100, before: $before) {
    edges { cursor node { id seq body createdAt author { id username } } }
    pageInfo { hasPreviousPage }
  } }
}`;

interface User {
  id: string;
  token: string;
}

/** Sends one operation as one of the users, over the run's transport; throws on errors. */
type Transmit = (userIndex: number, operation: Operation) => Promise<unknown>;

interface Channel {
  transmit: Transmit;
  close(): void;
}

async function openChannel(server: ServerChild, transport: Transport, users: User[], window: number): Promise<Channel> {
  if (transport === 'http') {
    const poster = createPoster(server.url, window);
    return {
      transmit: async (userIndex, operation) => {
        const { status, json } = await postRetrying(() => poster.post(JSON.stringify(operation), users[userIndex]!.token));
        const result = json as { data?: unknown; errors?: unknown[] };
        if (status !== 200 || result.errors?.length) throw new Error(`HTTP ${status}: ${JSON.stringify(json).slice(0, 300)}`);
        return result.data;
      },
      close: () => poster.close(),
    };
  }
  // One socket per user, as each author would have its own.
  const sockets = users.map((user) => new SocketSender(server.wsUrl, user.token));
  await pool(sockets.length, 20, (index) => sockets[index]!.connect());
  return {
    transmit: async (userIndex, operation) => {
      const result = (await sockets[userIndex]!.send(operation)) as { data?: unknown; errors?: unknown[] };
      if (result.errors?.length) throw new Error(`ws: ${JSON.stringify(result).slice(0, 300)}`);
      return result.data;
    },
    close: () => sockets.forEach((socket) => socket.close()),
  };
}

/**
 * A keep-alive connection the server closed as idle (5 s, e.g. while the setup read every room's
 * lastSeq on a loaded machine) fails the request that reused it at that moment: it is sent again.
 * A send keeps its clientMessageId, so a retry cannot store it twice.
 */
async function postRetrying<T>(post: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await post();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? '';
      const closed = code === 'ECONNRESET' || (error as Error).message === 'socket hang up';
      if (!closed || attempt >= 3) throw error;
    }
  }
}

/**
 * Runs count operations with window in flight; returns operations/s and the CPU per operation of the
 * server, of this client, and of the whole machine (the rest is the database server, Redis, and
 * anything else running). With both cores busy, the rate of an operation follows the machine's CPU
 * per operation, whichever process spends it.
 */
async function measureRate(server: ServerChild, count: number, window: number, operation: (index: number) => Promise<void>) {
  const cpu0 = cpuSecondsOf(server.pid);
  const client0 = process.cpuUsage();
  const machine0 = machineCpu();
  const window0 = process.hrtime.bigint() / 1000n;
  const t0 = performance.now();
  await pool(count, window, operation);
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const msPerOp = (cpuSeconds: number) => round((cpuSeconds * 1000) / count);
  return {
    perS: round(count / seconds),
    serverCpuMsPerOp: msPerOp(cpuSecondsOf(server.pid) - cpu0),
    clientCpuMsPerOp: msPerOp((client.user + client.system) / 1e6),
    machineCpuMsPerOp: msPerOp(machineCpu().busy - machine0.busy),
    // CLOCK_MONOTONIC microseconds, as the server's .cpuprofile counts them (bench/profile-summary.ts --from/--to).
    windowUs: [Number(window0), Number(process.hrtime.bigint() / 1000n)],
  };
}

/** The seqs each room's sends were answered with: consecutive from the room's lastSeq before, none twice. */
class SeqCheck {
  private readonly seqs = new Map<string, number[]>();
  record(roomId: string, seq: number): void {
    let list = this.seqs.get(roomId);
    if (!list) this.seqs.set(roomId, (list = []));
    list.push(seq);
  }
  /** Compares with each room's lastSeq before (startSeq) and now (read back from the server). */
  async verify(startSeq: Map<string, number>, lastSeq: (roomId: string) => Promise<number>) {
    let seqGaps = 0;
    let duplicateSeqs = 0;
    let lastSeqMismatches = 0;
    for (const [roomId, list] of this.seqs) {
      const sorted = [...list].sort((a, b) => a - b);
      let expected = (startSeq.get(roomId) ?? 0) + 1;
      for (const seq of sorted) {
        if (seq < expected) duplicateSeqs++;
        else {
          seqGaps += seq - expected;
          expected = seq + 1;
        }
      }
      if ((await lastSeq(roomId)) !== expected - 1) lastSeqMismatches++;
    }
    return { seqGaps, duplicateSeqs, lastSeqMismatches };
  }
}

interface SendShape {
  scenario: 'many-rooms' | 'hot-room';
  /** Author (user index) and room of send i. */
  authorOf(index: number): number;
  roomOf(index: number): string;
  rooms: string[];
  authors: number;
  window: number;
}

async function runSends(server: ServerChild, backend: string, users: User[], shape: SendShape, transport: Transport) {
  const channel = await openChannel(server, transport, users, shape.window);
  const admin = createPoster(server.url, 4);
  try {
    const tag = randomBytes(4).toString('hex');
    const readLastSeq = async (roomId: string, userIndex: number) =>
      (await admin.graphql<{ room: { lastSeq: number } }>(LAST_SEQ, { id: roomId }, users[userIndex]!.token)).room.lastSeq;
    const ownerOf = new Map(shape.rooms.map((roomId, index) => [roomId, shape.authorOf(shape.rooms.length === 1 ? 0 : index)]));
    const send = async (index: number, body: string, check?: SeqCheck) => {
      const roomId = shape.roomOf(index);
      const data = (await channel.transmit(shape.authorOf(index), {
        query: SEND,
        variables: { input: { roomId, body, clientMessageId: `${tag}-${body}` } },
      })) as { sendMessage: { seq: number } };
      check?.record(roomId, data.sendMessage.seq);
    };
    const noOp = async (index: number) => {
      await channel.transmit(shape.authorOf(index), { query: NO_OP, variables: {} });
    };
    // Warm-up: JIT, caches, connection pools, both operations.
    const warmup = Math.min(200, sendCount);
    await pool(warmup, shape.window, (index) => send(index, `w:${index}`));
    await pool(warmup, shape.window, noOp);
    const startSeq = new Map<string, number>();
    for (const roomId of shape.rooms) startSeq.set(roomId, await readLastSeq(roomId, ownerOf.get(roomId)!));

    log(`${backend} ${shape.scenario} (${transport}): ${sendCount} no-ops and ${sendCount} sends, ${shape.window} in flight`);
    const noOps = await measureRate(server, sendCount, shape.window, noOp);
    const check = new SeqCheck();
    const sends = await measureRate(server, sendCount, shape.window, (index) => send(index, `m:${index}`, check));
    const verdict = await check.verify(startSeq, (roomId) => readLastSeq(roomId, ownerOf.get(roomId)!));
    return {
      scenario: shape.scenario,
      backend,
      send: transport,
      rooms: shape.rooms.length,
      authors: shape.authors,
      M: sendCount,
      W: shape.window,
      sendsPerS: sends.perS,
      noOpPerS: noOps.perS,
      ratio: round(sends.perS / noOps.perS),
      serverCpuMsPerSend: sends.serverCpuMsPerOp,
      serverCpuMsPerNoOp: noOps.serverCpuMsPerOp,
      clientCpuMsPerSend: sends.clientCpuMsPerOp,
      clientCpuMsPerNoOp: noOps.clientCpuMsPerOp,
      machineCpuMsPerSend: sends.machineCpuMsPerOp,
      machineCpuMsPerNoOp: noOps.machineCpuMsPerOp,
      machineCpuRatio: round(noOps.machineCpuMsPerOp / sends.machineCpuMsPerOp),
      ...verdict,
      ...(cpuProfDir ? { profileWindowUs: { noOps: noOps.windowUs, sends: sends.windowUs } } : {}),
      loadAvg1m: round(loadavg()[0]!),
    };
  } finally {
    channel.close();
    admin.close();
  }
}

/** Inserts count messages into the room in one statement, numbered 1..count, and moves its lastSeq. */
function bulkHistorySql(roomId: string, authorId: string, count: number): string[] {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  return [
    `INSERT INTO "Message" ("id", "roomId", "seq", "authorId", "body", "createdAt")
     SELECT gen_random_uuid()::text, ${quote(roomId)}, n, ${quote(authorId)}, 'history message ' || n,
       now() - make_interval(secs => ${count} - n)
     FROM generate_series(1, ${count}) AS n`,
    `UPDATE "Room" SET "lastSeq" = ${count} WHERE "id" = ${quote(roomId)}`,
    'ANALYZE "Message"',
  ];
}

async function runHistory(
  parley: Awaited<ReturnType<typeof startParleyChild>>,
  server: ServerChild,
  backend: string,
  owner: User,
): Promise<{ lines: Record<string, unknown>[]; server: ServerChild }> {
  const admin = createPoster(server.url, 1);
  const room = await admin.graphql<{ createRoom: { id: string } }>(
    CREATE_ROOM,
    { input: { name: 'bench history', visibility: 'PRIVATE', memberIds: [] } },
    owner.token,
  );
  admin.close();
  const roomId = room.createRoom.id;
  const statements = bulkHistorySql(parseId('Room', roomId, 'roomId'), parseId('User', owner.id, 'userId'), historySize);
  const t0 = performance.now();
  server = await parley.runSql(statements);
  log(`${backend} history: ${historySize} messages inserted in ${round((performance.now() - t0) / 1000)} s`);

  // A cursor as an edge carries it (history.ts): the message at the middle of the room.
  const deepCursor = Buffer.from(`seq:${Math.ceil(historySize / 2)}`).toString('base64url');
  const pages = {
    last: { query: PAGE, variables: { id: roomId, before: null } },
    before: { query: PAGE, variables: { id: roomId, before: deepCursor } },
  };
  const noOp = { query: NO_OP, variables: {} };
  const lines: Record<string, unknown>[] = [];
  for (const transport of transports) {
    const socket = transport === 'ws' ? new SocketSender(server.wsUrl, owner.token) : null;
    const poster = transport === 'http' ? createPoster(server.url, 1) : null;
    await socket?.connect();
    // One request at a time, on one socket or one keep-alive connection.
    const send = async (operation: Operation): Promise<{ errors?: unknown[] }> =>
      socket ? ((await socket.send(operation)) as never) : ((await poster!.post(JSON.stringify(operation), owner.token)).json as never);
    try {
      const run = async (operation: Operation, count: number) => {
        const times = new Float64Array(count);
        for (let index = 0; index < count; index++) {
          const start = performance.now();
          const result = await send(operation);
          times[index] = performance.now() - start;
          if (result.errors?.length) throw new Error(`history: ${JSON.stringify(result).slice(0, 300)}`);
        }
        const [p50, p99] = quantiles(times, count, [0.5, 0.99]);
        return { p50: p50!, p99: p99! };
      };
      for (const operation of [noOp, pages.last, pages.before]) await run(operation, 30); // warm-up
      for (const [page, operation] of Object.entries(pages)) {
        log(`${backend} history over ${transport} (${page}): ${pageCount} pages beside ${pageCount} no-op queries`);
        const window0 = process.hrtime.bigint() / 1000n;
        const cpu0 = cpuSecondsOf(server.pid);
        // Interleaved in blocks, so both see the same moments of the machine's load.
        const blocks = 5;
        const noOpTimes: { p50: number; p99: number }[] = [];
        const pageTimes: { p50: number; p99: number }[] = [];
        for (let block = 0; block < blocks; block++) {
          noOpTimes.push(await run(noOp, Math.ceil(pageCount / blocks)));
          pageTimes.push(await run(operation, Math.ceil(pageCount / blocks)));
        }
        const cpuMs = (cpuSecondsOf(server.pid) - cpu0) * 1000;
        const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
        const noOpMs = { p50: median(noOpTimes.map((t) => t.p50)), p99: median(noOpTimes.map((t) => t.p99)) };
        const pageMs = { p50: median(pageTimes.map((t) => t.p50)), p99: median(pageTimes.map((t) => t.p99)) };
        lines.push({
          scenario: 'history',
          backend,
          send: transport,
          page: page === 'last' ? 'last: 100' : `last: 100, before seq ${Math.ceil(historySize / 2)}`,
          historySize,
          pages: pageCount,
          pageMs: { p50: round(pageMs.p50), p99: round(pageMs.p99) },
          noOpMs: { p50: round(noOpMs.p50), p99: round(noOpMs.p99) },
          p50Ratio: round(pageMs.p50 / noOpMs.p50),
          p99Ratio: round(pageMs.p99 / noOpMs.p99),
          // The server's CPU over the phase, pages and no-ops together, per page-and-no-op pair.
          serverCpuMsPerPair: round(cpuMs / (blocks * Math.ceil(pageCount / blocks))),
          loadAvg1m: round(loadavg()[0]!),
          ...(cpuProfDir ? { profileWindowUs: [Number(window0), Number(process.hrtime.bigint() / 1000n)] } : {}),
        });
      }
    } finally {
      socket?.close();
      poster?.close();
    }
  }
  return { lines, server };
}

async function runBackend(backend: 'embedded' | 'postgres'): Promise<number> {
  const label = backend === 'postgres' ? 'postgres+redis' : backend;
  const unreachable = await checkBackendReachable(label);
  if (unreachable) {
    print({ backend: label, skipped: unreachable });
    return 1;
  }
  const profile = cpuProfDir
    ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(cpuProfDir), `${backend}-${new Date().toISOString().replace(/[:.]/g, '-')}`)}`]
    : [];
  const parley = await startParleyChild(backend, profile);
  let server = parley.server;
  // Whatever happens, the server does not outlive the benchmark.
  const killServer = () => server.child.kill('SIGKILL');
  process.on('exit', killServer);
  let failures = 0;
  try {
    const userCount = Math.max(scenarios.includes('many-rooms') ? roomCount : 1, scenarios.includes('hot-room') ? authorCount : 1);
    log(`${label}: signing up ${userCount} users`);
    const setup = createPoster(server.url, 4);
    const tag = randomBytes(3).toString('hex');
    const users: User[] = new Array(userCount);
    await pool(userCount, 4, async (index) => {
      const data = await setup.graphql<{ signUp: { token: string; user: { id: string } } }>(
        SIGN_UP,
        { input: { username: `s${tag}_${index}`, password: 'bench password 1234' } },
        null,
      );
      users[index] = { id: data.signUp.user.id, token: data.signUp.token };
    });
    const createRoom = async (owner: User, members: User[], name: string) =>
      (
        await setup.graphql<{ createRoom: { id: string } }>(
          CREATE_ROOM,
          { input: { name, visibility: 'PRIVATE', memberIds: members.map((user) => user.id) } },
          owner.token,
        )
      ).createRoom.id;

    const shapes: SendShape[] = [];
    if (scenarios.includes('many-rooms')) {
      const rooms: string[] = [];
      for (let index = 0; index < roomCount; index++) rooms.push(await createRoom(users[index]!, [], `many ${index}`));
      const authors = users.slice(0, roomCount);
      shapes.push({
        scenario: 'many-rooms',
        rooms,
        authors: authors.length,
        window: inFlight,
        authorOf: (index) => index % authors.length,
        roomOf: (index) => rooms[index % rooms.length]!,
      });
    }
    if (scenarios.includes('hot-room')) {
      const authors = users.slice(0, authorCount);
      const roomId = await createRoom(authors[0]!, authors.slice(1), 'hot');
      shapes.push({
        scenario: 'hot-room',
        rooms: [roomId],
        authors: authorCount,
        // Every author sends at once, one message in flight each.
        window: authorCount,
        authorOf: (index) => index % authorCount,
        roomOf: () => roomId,
      });
    }
    setup.close();
    for (const shape of shapes) {
      for (const transport of transports) {
        try {
          const figures = await runSends(server, label, users, shape, transport);
          print({ ...figures, date: new Date().toISOString() });
          if (figures.seqGaps || figures.duplicateSeqs || figures.lastSeqMismatches) failures++;
        } catch (error) {
          failures++;
          print({ scenario: shape.scenario, backend: label, send: transport, error: (error as Error).message.slice(0, 500) });
        }
      }
    }
    if (scenarios.includes('history')) {
      try {
        const result = await runHistory(parley, server, label, users[0]!);
        server = result.server;
        for (const line of result.lines) print({ ...line, date: new Date().toISOString() });
      } catch (error) {
        failures++;
        print({ scenario: 'history', backend: label, error: (error as Error).message.slice(0, 500) });
      }
    }
  } finally {
    await server.stop();
    process.off('exit', killServer);
    await parley.cleanup();
  }
  return failures;
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

buildIfStale();
let failures = 0;
for (const backend of backendNames) failures += await runBackend(backend);
log('done');
process.exit(failures > 0 ? 1 : 0);
