import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, WebSocketRoute } from 'playwright-core';
import { graphql } from './generated/gql.js';
import { launchBrowser, screenshot } from './support/browser.js';
import { send } from './support/chat.js';
import { startTestServer, uniqueName, type TestServer } from './support/server.js';
import type { TestUser } from './support/users.js';

const WebClientMe = graphql(`
  query WebClientMe {
    me {
      id
      username
    }
  }
`);

/** Long enough for a loaded CI machine; these waits are for things to happen at all, not for speed. */
const WAIT_MS = 15_000;
const PASSWORD = 'correct horse battery';

/** A person at a browser: their own context (storage, cookies), one page, and what the page did. */
interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Requests that left the server's origin (none may). */
  foreignRequests: string[];
  /** Uncaught exceptions and console errors in the page. */
  pageErrors: string[];
}

describe('web client in a browser', () => {
  let api: TestServer;
  let browser: Browser;
  let origin: string;
  const people: Person[] = [];

  before(async () => {
    assert.ok(existsSync('web/dist/index.html'), 'web/dist is not built: npm test builds it (npm run build:web)');
    // The test seeds a backlog of 40 messages at once, faster than a person sends: past the send burst.
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    origin = new URL(api.url).origin;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await api?.close();
  });

  async function arrive(base: string): Promise<Person> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    const page = await context.newPage();
    const person: Person = { name: uniqueName(base), context, page, foreignRequests: [], pageErrors: [] };
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(`${origin}/`) && !url.startsWith(origin.replace(/^http/, 'ws')) && !url.startsWith('data:')) person.foreignRequests.push(url);
    });
    page.on('pageerror', (error) => person.pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') person.pageErrors.push(message.text());
    });
    people.push(person);
    return person;
  }

  /** The person's session as the API sees it (the token the client keeps in localStorage). */
  async function sessionOf(person: Person): Promise<TestUser> {
    const token = await person.page.evaluate(() => window.localStorage.getItem('parley.token'));
    assert.ok(token, 'the client keeps the token in localStorage');
    const { me } = await api.ok(WebClientMe, {}, token);
    assert.ok(me);
    return { id: me.id, username: me.username, token };
  }

  it('two people sign up, meet in a public room and talk live; history, typing, unread badges, direct rooms, mentions and search', async () => {
    try {
      await talk();
    } catch (error) {
      // What each person was looking at when it failed.
      for (const person of people) if (!person.page.isClosed()) await screenshot(person.page, `web-client-failed-${person.name.split('_')[0]}`);
      throw error;
    }
  });

  async function talk(): Promise<void> {
    const alice = await arrive('alice');
    const bob = await arrive('bob');
    for (const person of [alice, bob]) {
      await person.page.goto(`${origin}/`);
      await person.page.getByLabel('Username', { exact: true }).fill(person.name);
      await person.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      if (person === alice) await screenshot(person.page, 'web-client-sign-in');
      await person.page.getByRole('button', { name: 'Sign up', exact: true }).click();
      await person.page.getByRole('button', { name: 'Log out' }).waitFor({ timeout: WAIT_MS });
    }

    // Alice creates a public room; Bob finds it and joins.
    const roomName = uniqueName('lobby');
    await alice.page.getByLabel('Room name').fill(roomName);
    await alice.page.getByRole('button', { name: 'Create room' }).click();
    await alice.page.getByRole('heading', { level: 1, name: roomName }).waitFor({ timeout: WAIT_MS });
    await bob.page.getByLabel('Search public rooms').fill(roomName);
    await bob.page.getByRole('button', { name: `Join ${roomName}` }).click();
    await bob.page.getByRole('heading', { level: 1, name: roomName }).waitFor({ timeout: WAIT_MS });
    await roomLink(bob.page, roomName).waitFor({ timeout: WAIT_MS });
    const roomId = decodeURIComponent(new URL(alice.page.url()).pathname.split('/')[2] ?? '');
    assert.equal(new URL(bob.page.url()).pathname, new URL(alice.page.url()).pathname, 'both have the same room open');

    // Each sees the other's message, live.
    await sendFrom(alice.page, 'Hello from Alice');
    await waitForMessages(bob.page, ['Hello from Alice']);
    await sendFrom(bob.page, 'Hi Alice, Bob here');
    await waitForMessages(alice.page, ['Hello from Alice', 'Hi Alice, Bob here']);

    // Presence: each shows the other online in the room's members.
    await alice.page.getByRole('img', { name: `${bob.name} is online` }).first().waitFor({ timeout: WAIT_MS });

    // Typing shows on the other side, and stops when the message is sent.
    await bob.page.getByLabel('Message', { exact: true }).fill('Typing something');
    const typingNote = alice.page.getByText(`${bob.name} is typing…`);
    await typingNote.waitFor({ timeout: WAIT_MS });
    await screenshot(alice.page, 'web-client-typing');
    await bob.page.getByRole('button', { name: 'Send', exact: true }).click();
    await typingNote.waitFor({ state: 'hidden', timeout: WAIT_MS });
    await waitForMessages(alice.page, ['Hello from Alice', 'Hi Alice, Bob here', 'Typing something']);

    // More than a page of history: after a reload, "Load older" brings back every message once, in order.
    // (The reload also sends Alice's socket through a switch, for the reconnect below.)
    const link = await switchSocketsOf(alice.page);
    const bobSession = await sessionOf(bob);
    const expected = ['Hello from Alice', 'Hi Alice, Bob here', 'Typing something'];
    for (let index = 1; index <= 40; index += 1) {
      const body = `Backlog ${index}`;
      await send(api, bobSession, roomId, body);
      expected.push(body);
    }
    await waitForMessages(alice.page, expected);
    await alice.page.reload();
    const olderButton = alice.page.getByRole('button', { name: 'Load older' });
    await olderButton.waitFor({ timeout: WAIT_MS });
    assert.ok((await messageBodies(alice.page)).length < expected.length, 'the first page is the newest messages only');
    // Click until no older page is left (the button is disabled while a page loads, and goes after the last).
    await waitFor(async () => {
      if ((await olderButton.count()) > 0 && (await olderButton.isEnabled({ timeout: 1000 }))) await olderButton.click({ timeout: 1000 });
      assert.equal(await olderButton.count(), 0, 'no older page left');
    }, 'every older page loaded');
    await waitForMessages(alice.page, expected);
    await screenshot(alice.page, 'web-client-history');

    // A dropped socket resumes from the last message seen: nothing missed, nothing twice.
    link.drop();
    for (const body of ['Sent while Alice was away 1', 'Sent while Alice was away 2']) {
      await send(api, bobSession, roomId, body);
      expected.push(body);
    }
    link.restore();
    await waitForMessages(alice.page, expected);
    await sendFrom(bob.page, 'After the reconnect');
    expected.push('After the reconnect');
    await waitForMessages(alice.page, expected);

    // Alice is still scrolled up where "Load older" was: what came since is unread until she scrolls down to it.
    const lobbyBadge = roomLink(alice.page, roomName).locator('.badge');
    await waitFor(async () => assert.equal(await lobbyBadge.textContent(), '3'), 'three unread while Alice reads older messages');
    await alice.page.getByRole('log', { name: 'Messages' }).locator('li').last().scrollIntoViewIfNeeded();
    await lobbyBadge.waitFor({ state: 'detached', timeout: WAIT_MS });

    // An unread badge for a room that is not open, cleared when it is opened.
    await alice.page.getByLabel('Room name').fill(uniqueName('quiet'));
    await alice.page.getByRole('button', { name: 'Create room' }).click();
    await alice.page.waitForURL((url) => url.pathname !== `/rooms/${encodeURIComponent(roomId)}`, { timeout: WAIT_MS });
    await sendFrom(bob.page, 'Are you there?');
    await sendFrom(bob.page, 'Alice?');
    await waitFor(async () => assert.equal(await lobbyBadge.textContent(), '2'), 'two unread in the room that is not open');
    await screenshot(alice.page, 'web-client-unread');
    await roomLink(alice.page, roomName).click();
    expected.push('Are you there?', 'Alice?');
    await waitFor(async () => {
      const shown = await messageBodies(alice.page);
      assert.deepEqual(shown, expected.slice(-shown.length));
      assert.ok(shown.length >= 2);
    }, 'the newest page of the room, ending with the unread messages');
    await lobbyBadge.waitFor({ state: 'detached', timeout: WAIT_MS });

    // A direct room by username: Bob's list gains it live, with its unread badge.
    await alice.page.getByLabel('Find people').fill(bob.name);
    await alice.page.getByRole('button', { name: `Chat with ${bob.name}` }).click();
    await alice.page.getByRole('heading', { level: 1, name: bob.name }).waitFor({ timeout: WAIT_MS });
    await sendFrom(alice.page, 'Just between us');
    await waitFor(
      async () => assert.equal(await roomLink(bob.page, alice.name).locator('.badge').textContent(), '1'),
      'the direct room appears in Bob\'s list with one unread',
    );
    await roomLink(bob.page, alice.name).click();
    await waitForMessages(bob.page, ['Just between us']);
    await screenshot(bob.page, 'web-client-direct');

    // A mention in a room that is not open: its badge, cleared when the room is read.
    await send(api, bobSession, roomId, `@${alice.name} have a look`);
    const mentionBadge = roomLink(alice.page, roomName).locator('.mention-badge');
    await waitFor(async () => assert.equal(await mentionBadge.textContent(), '@1'), 'the mention badge in the room not open');

    // Search: a hit shows its snippet with the matched words marked, and opens its room.
    await alice.page.getByLabel('Search messages').fill('"typing something"');
    await alice.page.getByRole('button', { name: 'Search', exact: true }).click();
    const hits = alice.page.getByRole('list', { name: 'Messages found' });
    await waitFor(async () => assert.deepEqual(await hits.locator('mark').allTextContents(), ['Typing', 'something']), 'the hit, its words marked');
    await screenshot(alice.page, 'web-client-search');
    await hits.getByRole('button', { name: `Open ${roomName}` }).click();
    await alice.page.getByRole('heading', { level: 1, name: roomName }).waitFor({ timeout: WAIT_MS });
    await mentionBadge.waitFor({ state: 'detached', timeout: WAIT_MS });

    // Bob leaves: Alice sees him go offline.
    await bob.context.close();
    await alice.page.getByRole('img', { name: `${bob.name} is offline` }).first().waitFor({ timeout: WAIT_MS });

    for (const person of people) {
      assert.deepEqual(person.foreignRequests, [], `${person.name}'s page asked only its own server`);
      assert.deepEqual(person.pageErrors, [], `${person.name}'s page had no errors`);
    }
  }
});

/** A room's entry in the room list, by its title. */
function roomLink(page: Page, title: string) {
  return page.getByRole('list', { name: 'Rooms', exact: true }).getByRole('link').filter({ has: page.getByText(title, { exact: true }) });
}

async function sendFrom(page: Page, body: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(body);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
}

/** The bodies in the open room's message log, top to bottom. */
function messageBodies(page: Page): Promise<string[]> {
  return page.getByRole('log', { name: 'Messages' }).locator('li .body').allTextContents();
}

/** Waits until the open room shows exactly these messages, once each and in this order. */
async function waitForMessages(page: Page, expected: string[]): Promise<void> {
  await waitFor(async () => assert.deepEqual(await messageBodies(page), expected), 'the messages shown');
}

/** Retries an assertion until it holds or WAIT_MS passes; then fails with its last error. */
async function waitFor(check: () => Promise<void>, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Routes the page's graphql-ws sockets (opened from its next load on) through a switch: drop() closes
 * them (1001, as a restarting server does) and refuses new ones until restore().
 */
async function switchSocketsOf(page: Page) {
  const open = new Set<WebSocketRoute>();
  let down = false;
  await page.routeWebSocket(/\/graphql$/, (socket) => {
    if (down) return void socket.close({ code: 1001, reason: 'down' });
    const server = socket.connectToServer();
    open.add(socket).add(server);
  });
  return {
    drop() {
      down = true;
      for (const side of open) void side.close({ code: 1001, reason: 'down' });
      open.clear();
    },
    restore() {
      down = false;
    },
  };
}
