import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { descendants, freshCheckout, isListening, killGroup, npmStart, processesWithEnv, type NpmStart } from './support/npm-start.js';
import { httpClient } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket } from './support/ws.js';

const ProcessMessages = graphql(`
  subscription ProcessMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
    }
  }
`);

/** Start-up includes a build on the first run and PGlite's initdb on every run: slow on a busy machine. */
const START_TIMEOUT_MS = 180_000;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Started {
  run: NpmStart;
  url: string;
  dataDir: string;
  /** The server process: npm's only child. */
  serverPid: number;
}

/**
 * `npm start` with its own DATA_DIR (empty, or a copy of `template`: PGlite's initdb takes seconds)
 * and a free port, as a user runs it; checks the process chain is npm → node.
 */
async function start(dir: string, env: Record<string, string> = {}, template?: string): Promise<Started> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-process-'));
  if (template) cpSync(template, dataDir, { recursive: true });
  const run = npmStart(dir, { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'info', ...env });
  let url: string;
  try {
    url = await within(run.url, START_TIMEOUT_MS, 'npm start serving');
  } catch (error) {
    killGroup(run.npm.pid!);
    throw error;
  }
  const children = descendants(run.npm.pid!);
  assert.equal(children.length, 1, `npm has one child, the server: ${JSON.stringify(children)}`);
  assert.match(children[0]!.command, /^\S*node\S* .*dist\/main\.js$/, 'npm runs node on dist/main.js itself (no shell, no tsx)');
  return { run, url, dataDir, serverPid: children[0]!.pid };
}

/** After npm has exited: the port is closed and no process of the run remains. */
async function assertGone({ url, dataDir, run }: Started): Promise<void> {
  const { hostname, port } = new URL(url);
  assert.equal(await isListening(hostname, Number(port)), false, 'the port is closed');
  assert.deepEqual(processesWithEnv('DATA_DIR', dataDir), [], 'no process of this run remains');
  assert.deepEqual(descendants(run.npm.pid!), []);
}

/** A signed-up user subscribed to a room over graphql-ws, proven live by a message it received. */
async function subscriber(url: string) {
  const api = httpClient(url);
  const user = await createUser(api, 'proc');
  const roomId = await createRoomWith(api, user, []);
  const socket = await connectSocket(url.replace(/^http/, 'ws'), user.token);
  const subscription = socket.subscribe(ProcessMessages, { roomId });
  // Sent until one arrives: the subscription is live once it delivers.
  for (let attempt = 0; ; attempt++) {
    await send(api, user, roomId, `hello ${attempt}`);
    const received = await subscription.next(2000).catch(() => null);
    if (received) break;
    assert.ok(attempt < 10, 'the subscription delivers');
  }
  // What the client hears, in order.
  const heard: string[] = [];
  void subscription.done.then(({ error }) => {
    const code = (error as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code;
    heard.push(error ? `error ${code}` : 'complete');
  });
  void socket.closed.then(({ code }) => heard.push(`close ${code}`));
  return { heard, socket };
}

describe('npm start', () => {
  let checkout: ReturnType<typeof freshCheckout>;
  /** The first run's DATA_DIR, copied by the others. */
  let template: string | undefined;
  before(() => {
    checkout = freshCheckout();
  });
  after(() => {
    checkout.remove();
    if (template) rmSync(template, { recursive: true, force: true });
  });

  it('on a fresh clone builds dist/, serves, and stops gracefully on SIGTERM to npm', async () => {
    assert.equal(existsSync(join(checkout.dir, 'dist')), false);
    const started = await start(checkout.dir);
    try {
      assert.ok(existsSync(join(checkout.dir, 'dist/.build-stamp')), 'npm start built dist/');
      assert.equal((await fetch(new URL('/health', started.url))).status, 200);
      const { heard } = await subscriber(started.url);
      process.kill(started.run.npm.pid!, 'SIGTERM');
      assert.deepEqual(await within(started.run.exited, 20_000, 'npm exiting'), { code: 0, signal: null });
      assert.deepEqual(heard, ['error UNAVAILABLE', 'close 1001'], 'each subscription ends with UNAVAILABLE before the 1001 close');
      assert.ok(started.run.output.some((line) => line.includes('"msg":"stopped"')), 'the server logs its graceful stop');
      await assertGone(started);
      template = started.dataDir;
    } finally {
      killGroup(started.run.npm.pid!);
      if (template !== started.dataDir) rmSync(started.dataDir, { recursive: true, force: true });
    }
  });

  const cases: [NodeJS.Signals, 'npm' | 'process group'][] = [
    ['SIGINT', 'npm'],
    ['SIGTERM', 'process group'],
    ['SIGINT', 'process group'],
  ];
  for (const [signal, target] of cases) {
    it(`stops gracefully on ${signal} to ${target === 'npm' ? 'npm' : "npm's process group"}`, async () => {
      const started = await start(checkout.dir, {}, template);
      try {
        const { heard } = await subscriber(started.url);
        const pid = started.run.npm.pid!;
        // The group gets the signal as from a terminal's Ctrl-C: npm forwards a second copy.
        process.kill(target === 'npm' ? pid : -pid, signal);
        assert.deepEqual(await within(started.run.exited, 20_000, 'npm exiting'), { code: 0, signal: null });
        assert.deepEqual(heard, ['error UNAVAILABLE', 'close 1001']);
        await assertGone(started);
      } finally {
        killGroup(started.run.npm.pid!);
        rmSync(started.dataDir, { recursive: true, force: true });
      }
    });
  }

  it('stops at once on a second signal while the first waits for work in flight', async () => {
    const started = await start(checkout.dir, { SHUTDOWN_TIMEOUT: '60s' }, template);
    try {
      // A request whose body never finishes: in flight until the server gives up on it.
      const { hostname, port } = new URL(started.url);
      const stalled = request({ host: hostname, port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '100' } });
      stalled.on('error', () => {});
      stalled.write('{"query":');
      await new Promise((resolve) => setTimeout(resolve, 200));
      process.kill(started.run.npm.pid!, 'SIGTERM');
      // Past the window in which a second copy counts as the same request.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.ok(processesWithEnv('DATA_DIR', started.dataDir).length > 0, 'still draining the stalled request');
      const secondAt = Date.now();
      process.kill(started.run.npm.pid!, 'SIGTERM');
      const exit = await within(started.run.exited, 10_000, 'npm exiting');
      assert.notEqual(exit.code, 0, 'a forced stop is not a clean exit');
      assert.ok(Date.now() - secondAt < 5000, 'at once');
      assert.ok(started.run.output.some((line) => line.includes('second stop signal')));
      await assertGone(started);
      stalled.destroy();
    } finally {
      killGroup(started.run.npm.pid!);
      rmSync(started.dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with a bad configuration, saying why', async () => {
    const run = npmStart(checkout.dir, { PORT: 'not-a-port' });
    const exit = await within(run.exited, 60_000, 'npm exiting');
    assert.notEqual(exit.code, 0);
    assert.ok(run.output.some((line) => /PORT/.test(line)), run.output.join('\n'));
  });
});
