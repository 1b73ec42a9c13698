/**
 * Diagnostic companion of the fan-out benchmark: runs Parley in this process (so it can listen to
 * every SQL statement Prisma sends, through app.db.onQuery) and counts the statements the same
 * scenario causes per sent message, for several S. If a statement's count grows with S, something
 * reads the database once per subscriber and event.
 *
 *   npx tsx bench/sql-counts.ts [--s=1,10,100] [--m=50] [--backend=embedded|postgres]
 *
 * --backend=postgres also uses Redis pub/sub (BENCH_REDIS_URL, default redis://127.0.0.1:6379) with a
 * unique key prefix.
 *
 * Timing figures are meaningless here (clients and server share one event loop); use `npm run bench`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import type { DatabaseLocation } from '../src/db/client.js';
import { startServer } from '../src/server/index.js';
import { createPoster, Subscriber } from './clients.js';
import { pool, sleep, waitFor } from './stats.js';

const flag = (name: string, fallback: string) =>
  process.argv.slice(2).find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const counts = flag('s', '1,10,100').split(',').map(Number);
const M = Number(flag('m', '50'));
const backend = flag('backend', 'embedded');
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

const SEND = 'mutation BenchSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }';
const SUBSCRIBE =
  'subscription BenchMessages($roomId: ID!) { messageAdded(roomId: $roomId) { id seq body createdAt author { id username } } }';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'parley-sqlcount-'));
let database: DatabaseLocation = { kind: 'pglite', dir: join(scratch, 'pglite') };
const dbName = `parley_bench_${randomBytes(6).toString('hex')}`;
if (backend === 'postgres') {
  await admin(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  database = { kind: 'postgres', url: url.toString() };
}
const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: scratch,
    JWT_SECRET: randomBytes(32).toString('hex'),
    LOG_LEVEL: 'warn',
    ...(backend === 'postgres'
      ? { REDIS_URL: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379', REDIS_PREFIX: `parley-bench-${randomBytes(6).toString('hex')}:` }
      : {}),
  }),
  { database },
);
const poster = createPoster(server.url, 8);
const wsUrl = server.url.replace(/^http/, 'ws');

try {
  const users: { id: string; token: string }[] = [];
  const maxS = Math.max(...counts);
  await pool(maxS + 1, 4, async (k) => {
    const data = await poster.graphql<{ signUp: { token: string; user: { id: string } } }>(
      'mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }',
      { input: { username: `sqlcount_${k}_${randomBytes(2).toString('hex')}`, password: 'bench password 1234' } },
      null,
    );
    users[k] = { id: data.signUp.user.id, token: data.signUp.token };
  });
  const [sender, ...others] = users as [{ id: string; token: string }, ...{ id: string; token: string }[]];

  for (const S of counts) {
    const members = others.slice(0, S).map((user) => user.id);
    const room = await poster.graphql<{ createRoom: { id: string } }>(
      'mutation($input: CreateRoomInput!) { createRoom(input: $input) { id } }',
      { input: { name: `sql ${S}`, visibility: 'PRIVATE', memberIds: members.slice(0, 100) } },
      sender.token,
    );
    const roomId = room.createRoom.id;
    for (let from = 100; from < members.length; from += 100) {
      await poster.graphql('mutation($r: ID!, $u: [ID!]!) { addMembers(roomId: $r, userIds: $u) { role } }', { r: roomId, u: members.slice(from, from + 100) }, sender.token);
    }
    let delivered = 0;
    const subscribers = Array.from({ length: S }, (_, index) => new Subscriber(index, wsUrl, others[index]!.token, () => delivered++));
    await pool(S, 50, async (index) => {
      await subscribers[index]!.connect();
      subscribers[index]!.subscribe(SUBSCRIBE, { roomId });
    });
    // With a clientMessageId, as the benchmark's sender (and a real client) sends it.
    const send = (body: string) => poster.graphql(SEND, { input: { roomId, body, clientMessageId: `${S}-${body}` } }, sender.token);
    for (let probe = 0; probe < 50 && !subscribers.every((subscriber) => subscriber.deliveries > 0); probe++) {
      await send(`p:${probe}`);
      await waitFor(() => subscribers.every((subscriber) => subscriber.deliveries > 0), 1000);
    }
    await sleep(200);

    const statements = new Map<string, number>();
    const stop = server.app.db.onQuery((sql) => {
      const key = sql.replace(/\s+/g, ' ').replace(/\$\d+/g, '?').slice(0, Number(process.env.SQL_WIDTH ?? 160));
      statements.set(key, (statements.get(key) ?? 0) + 1);
    });
    delivered = 0;
    for (let index = 0; index < M; index++) await send(`m:${index}`);
    await waitFor(() => delivered >= S * M, 60_000);
    await sleep(200);
    stop();
    const total = [...statements.values()].reduce((sum, count) => sum + count, 0);
    console.log(`\nS=${S}: ${M} messages, ${delivered}/${S * M} delivered, ${total} SQL statements = ${(total / M).toFixed(2)} per message`);
    for (const [sql, count] of [...statements.entries()].sort((a, b) => b[1] - a[1])) {
      console.log(`${(count / M).toFixed(2).padStart(8)} /msg  ${sql}`);
    }
    await pool(S, 100, (index) => subscribers[index]!.close());
    await sleep(500);
  }
} finally {
  poster.close();
  await server.close();
  if (backend === 'postgres') await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(0);
