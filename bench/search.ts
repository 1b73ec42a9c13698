/**
 * `npm run bench:search`: searchMessages over N messages (default 10,000), for each backend: one
 * server (a child process), a viewer in half of R rooms (the other half are other people's: the
 * search must pass them over), N messages spread over all rooms by one bulk INSERT (the database's
 * trigger fills their words), then over one graphql-ws socket, one request at a time, Q searches of
 * each kind (a word in a fifth of the messages, a rare word, a prefix, a phrase) beside Q
 * `{ __typename }`: p50/p99 in ms, one JSON line per kind. A figure, not a pass/fail test.
 *
 * Options (flags or environment; flags win):
 *   --backend=embedded,postgres  BENCH_BACKEND
 *   --messages=10000   BENCH_MESSAGES  N
 *   --rooms=20         BENCH_ROOMS     R
 *   --searches=200     BENCH_SEARCHES  Q
 *   BENCH_DATABASE_URL, BENCH_REDIS_URL as for bench/fanout.ts.
 */
import { loadavg } from 'node:os';
import { parseId } from '../src/ids.js';
import { checkBackendReachable, startParleyChild } from './backends.js';
import { createPoster, SocketSender, type Operation } from './clients.js';
import { buildIfStale } from './processes.js';
import { option, positive, quantiles, round } from './stats.js';

const backends = option('backend', 'embedded,postgres').split(',') as ('embedded' | 'postgres')[];
const messageCount = positive(option('messages', '10000'), 'messages');
const roomCount = positive(option('rooms', '20'), 'rooms');
const searchCount = positive(option('searches', '200'), 'searches');

const log = (text: string) => process.stderr.write(`[search ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

const SIGN_UP = 'mutation BenchSignUp($input: SignUpInput!) { signUp(input: $input) { token user { id } } }';
const CREATE_ROOM = 'mutation BenchRoom($input: CreateRoomInput!) { createRoom(input: $input) { id } }';
const SEARCH = `query BenchSearch($query: String!) {
  searchMessages(query: $query, first: 20) { edges { cursor node { message { id seq body } snippet { text highlighted } } } }
}`;

/** Bodies from a small vocabulary: "common" is in every fifth message, "rare<n>" in one of each thousand (n = 8, 1008, ...: in the viewer's rooms). */
function bulkMessagesSql(roomIds: string[], authorIds: string[]): string[] {
  const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const rooms = `ARRAY[${roomIds.map(quote).join(',')}]`;
  const authors = `ARRAY[${authorIds.map(quote).join(',')}]`;
  return [
    `INSERT INTO "Message" ("id", "roomId", "seq", "authorId", "body", "createdAt")
     SELECT gen_random_uuid()::text, (${rooms})[1 + n % ${roomIds.length}], 1 + n / ${roomIds.length}, (${authors})[1 + n % ${roomIds.length}],
       'message ' || n || ' about ' || (ARRAY['deploys','lunch','release','meeting','common'])[1 + n % 5]
         || ' with deployment notes' || CASE WHEN n % 1000 = 8 THEN ' rare' || n ELSE '' END,
       now() - make_interval(secs => ${messageCount} - n)
     FROM generate_series(0, ${messageCount - 1}) AS n`,
    `UPDATE "Room" r SET "lastSeq" = (SELECT max(m."seq") FROM "Message" m WHERE m."roomId" = r."id")`,
    'ANALYZE "Message"',
  ];
}

async function runBackend(backend: 'embedded' | 'postgres'): Promise<void> {
  const unreachable = await checkBackendReachable(backend === 'postgres' ? 'postgres+redis' : backend);
  if (unreachable) return print({ backend, skipped: unreachable });
  const parley = await startParleyChild(backend, [], { RATE_LIMITS: 'off' });
  let server = parley.server;
  const killServer = () => server.child.kill('SIGKILL');
  process.on('exit', killServer);
  try {
    const setup = createPoster(server.url, 1);
    const signUp = async (name: string) =>
      (await setup.graphql<{ signUp: { token: string; user: { id: string } } }>(SIGN_UP, { input: { username: name, password: 'bench password 1234' } }, null)).signUp;
    const suffix = Date.now().toString(36);
    const viewer = await signUp(`viewer_${suffix}`);
    const other = await signUp(`other_${suffix}`);
    const roomIds: string[] = [];
    const authorIds: string[] = [];
    for (let index = 0; index < roomCount; index++) {
      // Even rooms are the viewer's, odd ones another user's.
      const owner = index % 2 === 0 ? viewer : other;
      const room = await setup.graphql<{ createRoom: { id: string } }>(CREATE_ROOM, { input: { name: `search ${index}`, visibility: 'PRIVATE' } }, owner.token);
      roomIds.push(parseId('Room', room.createRoom.id, 'roomId'));
      authorIds.push(parseId('User', owner.user.id, 'userId'));
    }
    setup.close();
    const statements = bulkMessagesSql(roomIds, authorIds);
    const t0 = performance.now();
    server = await parley.runSql(statements);
    log(`${backend}: ${messageCount} messages in ${roomCount} rooms inserted in ${round((performance.now() - t0) / 1000)} s`);

    const socket = new SocketSender(server.wsUrl, viewer.token);
    await socket.connect();
    try {
      const run = async (operation: Operation) => {
        const times = new Float64Array(searchCount);
        let hits = 0;
        for (let index = 0; index < searchCount; index++) {
          const start = performance.now();
          const result = (await socket.send(operation)) as { errors?: unknown[]; data?: { searchMessages?: { edges: unknown[] } } };
          times[index] = performance.now() - start;
          if (result.errors?.length) throw new Error(`search: ${JSON.stringify(result).slice(0, 300)}`);
          hits = result.data?.searchMessages?.edges.length ?? 0;
        }
        const [p50, p99] = quantiles(times, searchCount, [0.5, 0.99]);
        return { p50: round(p50!), p99: round(p99!), hits };
      };
      const kinds = { word: 'common', rare: 'rare1008', prefix: 'deploy*', phrase: '"about release"' };
      for (const query of Object.values(kinds)) await run({ query: SEARCH, variables: { query } }); // warm-up
      const noOp = await run({ query: '{ __typename }', variables: {} });
      for (const [kind, query] of Object.entries(kinds)) {
        const searchMs = await run({ query: SEARCH, variables: { query } });
        print({ backend, kind, query, messages: messageCount, rooms: roomCount, searches: searchCount, searchMs, noOpMs: { p50: noOp.p50, p99: noOp.p99 }, loadAvg1m: round(loadavg()[0]!) });
      }
    } finally {
      socket.close();
    }
  } finally {
    await server.stop();
    process.off('exit', killServer);
    await parley.cleanup();
  }
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

buildIfStale();
for (const backend of backends) await runBackend(backend);
log('done');
process.exit(0);
