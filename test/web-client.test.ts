import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
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
const MAX_FILE_BYTES = 4096;
const FILE_URL_TTL_S = 5;

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
    // Files up to 4 KB: an oversized one is small enough to make in the test. File URLs expire after
    // FILE_URL_TTL: long enough to load one, short enough to see the client renew an expired one.
    api = await startTestServer({ env: { RATE_LIMITS: 'off', MAX_FILE_BYTES: String(MAX_FILE_BYTES), FILE_URL_TTL: `${FILE_URL_TTL_S}s` } });
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


  /** Signs the person up in the client (and screenshots the form, when named). */
  async function signUp(person: Person, screenshotName?: string): Promise<void> {
    await person.page.goto(`${origin}/`);
    await person.page.getByLabel('Username', { exact: true }).fill(person.name);
    await person.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    if (screenshotName) await screenshot(person.page, screenshotName);
    await person.page.getByRole('button', { name: 'Sign up', exact: true }).click();
    await person.page.getByRole('button', { name: 'Log out' }).waitFor({ timeout: WAIT_MS });
  }

  /** The host creates a public room; the guest finds it and joins; both have it open. */
  async function meetInPublicRoom(host: Person, guest: Person, base: string): Promise<{ roomName: string; roomId: string }> {
    const roomName = uniqueName(base);
    await host.page.getByLabel('Room name').fill(roomName);
    await host.page.getByRole('button', { name: 'Create room' }).click();
    await host.page.getByRole('heading', { level: 1, name: roomName }).waitFor({ timeout: WAIT_MS });
    await guest.page.getByLabel('Search public rooms').fill(roomName);
    await guest.page.getByRole('button', { name: `Join ${roomName}` }).click();
    await guest.page.getByRole('heading', { level: 1, name: roomName }).waitFor({ timeout: WAIT_MS });
    await roomLink(guest.page, roomName).waitFor({ timeout: WAIT_MS });
    assert.equal(new URL(guest.page.url()).pathname, new URL(host.page.url()).pathname, 'both have the same room open');
    return { roomName, roomId: decodeURIComponent(new URL(host.page.url()).pathname.split('/')[2] ?? '') };
  }

  /** Screenshots what each person was looking at when the test failed. */
  async function screenshotsOnFailure(test: () => Promise<void>, name: string): Promise<void> {
    try {
      await test();
    } catch (error) {
      for (const person of people) if (!person.page.isClosed()) await screenshot(person.page, `${name}-failed-${person.name.split('_')[0]}`);
      throw error;
    }
  }

  /** Nothing left the origin, and no page had errors. */
  function assertCleanPages(): void {
    for (const person of people) {
      assert.deepEqual(person.foreignRequests, [], `${person.name}'s page asked only its own server`);
      assert.deepEqual(person.pageErrors, [], `${person.name}'s page had no errors`);
    }
  }

  it('two people sign up, meet in a public room and talk live; history, typing, unread badges, direct rooms, mentions and search', async () => {
    await screenshotsOnFailure(talk, 'web-client');
  });

  it('threads open beside the room and update live; files upload, show inline or as downloads, and oversized ones are refused', async () => {
    await screenshotsOnFailure(threadsAndFiles, 'web-client-threads-files');
  });

  it('edits, deletions and reactions show live where the message is; expired file links are renewed', async () => {
    await screenshotsOnFailure(editsAndExpiredFiles, 'web-client-edits');
  });

  async function talk(): Promise<void> {
    const alice = await arrive('alice');
    const bob = await arrive('bob');
    await signUp(alice, 'web-client-sign-in');
    await signUp(bob);
    const { roomName, roomId } = await meetInPublicRoom(alice, bob, 'lobby');

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

    assertCleanPages();
  }

  async function threadsAndFiles(): Promise<void> {
    const carol = await arrive('carol');
    const dave = await arrive('dave');
    await signUp(carol);
    await signUp(dave);
    const { roomId } = await meetInPublicRoom(carol, dave, 'plans');
    await sendFrom(carol.page, 'Where shall we meet?');
    await waitForMessages(dave.page, ['Where shall we meet?']);

    // Carol opens the thread of her message before anyone replied; Dave replies in it from his side.
    await messageItem(carol.page, 'Where shall we meet?').getByRole('button', { name: 'Reply in thread' }).click();
    const carolThread = carol.page.getByRole('complementary', { name: 'Thread' });
    await carolThread.getByRole('list', { name: 'Thread root' }).getByText('Where shall we meet?').waitFor({ timeout: WAIT_MS });
    await messageItem(dave.page, 'Where shall we meet?').getByRole('button', { name: 'Reply in thread' }).click();
    const daveThread = dave.page.getByRole('complementary', { name: 'Thread' });
    await daveThread.getByLabel('Reply', { exact: true }).fill('At the station');
    await daveThread.getByRole('button', { name: 'Send reply' }).click();

    // Carol sees "1 reply" appear on her message, and the reply in her open thread, live; not in the room's log.
    await messageItem(carol.page, 'Where shall we meet?').getByRole('button', { name: '1 reply' }).waitFor({ timeout: WAIT_MS });
    await waitFor(async () => assert.deepEqual(await replyBodies(carol.page), ['At the station']), 'the reply in Carol\'s thread');
    assert.match(await messageItem(carol.page, 'Where shall we meet?').locator('.thread-link').textContent() ?? '', new RegExp(`${dave.name} · last reply`));
    await screenshot(carol.page, 'web-client-thread');
    await carolThread.getByLabel('Reply', { exact: true }).fill('See you there');
    await carolThread.getByRole('button', { name: 'Send reply' }).click();
    await messageItem(dave.page, 'Where shall we meet?').getByRole('button', { name: '2 replies' }).waitFor({ timeout: WAIT_MS });
    await waitFor(async () => assert.deepEqual(await replyBodies(dave.page), ['At the station', 'See you there']), 'both replies in Dave\'s thread');
    for (const person of [carol, dave]) assert.deepEqual(await messageBodies(person.page), ['Where shall we meet?'], 'replies stay in their thread');
    // A thread opened later reads its replies from the server.
    await dave.page.reload();
    await messageItem(dave.page, 'Where shall we meet?').getByRole('button', { name: '2 replies' }).click();
    await waitFor(async () => assert.deepEqual(await replyBodies(dave.page), ['At the station', 'See you there']), 'the replies read again');
    await dave.page.getByRole('button', { name: 'Close thread' }).click();

    // A long thread pages: the first 15 replies, then the rest on "Load more replies"; a reply that comes
    // live meanwhile waits for the pages to reach it, so none is skipped.
    const daveSession = await sessionOf(dave);
    const longRoot = await send(api, daveSession, roomId, 'Ideas for the weekend?');
    const ideas = Array.from({ length: 17 }, (_, index) => `Idea ${index + 1}`);
    for (const idea of ideas.slice(0, 16)) await send(api, daveSession, roomId, idea, longRoot.id);
    await messageItem(carol.page, 'Ideas for the weekend?').getByRole('button', { name: '16 replies' }).click();
    await waitFor(async () => assert.deepEqual(await replyBodies(carol.page), ideas.slice(0, 15)), 'the first page of replies');
    await send(api, daveSession, roomId, ideas[16]!, longRoot.id);
    await messageItem(carol.page, 'Ideas for the weekend?').getByRole('button', { name: '17 replies' }).waitFor({ timeout: WAIT_MS });
    assert.deepEqual(await replyBodies(carol.page), ideas.slice(0, 15));
    await carol.page.getByRole('button', { name: 'Load more replies' }).click();
    await waitFor(async () => assert.deepEqual(await replyBodies(carol.page), ideas), 'every reply, once each, in order');
    await carol.page.getByRole('button', { name: 'Close thread' }).click();

    // An image: uploaded, sent (its name as the body), shown to Dave from its signed URL.
    const image = { name: 'dot.png', mimeType: 'image/png', buffer: png(3, 2) };
    await attach(carol.page, image);
    await sendFrom(carol.page, '');
    await waitForMessages(dave.page, ['Where shall we meet?', 'Ideas for the weekend?', 'dot.png']);
    const shown = messageItem(dave.page, 'dot.png').getByRole('img', { name: 'dot.png' });
    await waitFor(
      async () => assert.deepEqual(await shown.evaluate((img: HTMLImageElement) => [img.complete, img.naturalWidth, img.naturalHeight]), [true, 3, 2]),
      'the image downloaded and decoded',
    );

    // Another file, with text: a link that downloads its bytes.
    const notes = { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Bring an umbrella.\n') };
    await attach(carol.page, notes);
    await sendFrom(carol.page, 'The plan');
    const link = messageItem(dave.page, 'The plan').getByRole('link', { name: 'notes.txt' });
    await link.waitFor({ timeout: WAIT_MS });
    const [download] = await Promise.all([dave.page.waitForEvent('download', { timeout: WAIT_MS }), link.click()]);
    assert.equal(download.suggestedFilename(), 'notes.txt');
    assert.deepEqual(readFileSync(await download.path()), notes.buffer);
    await screenshot(dave.page, 'web-client-files');

    // Refused uploads say why, naming the file; nothing is left to send.
    await attach(carol.page, { name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(MAX_FILE_BYTES + 1, 'a') }, false);
    await carol.page.getByRole('alert').filter({ hasText: '“big.txt” is too large to send (4.0 KB).' }).waitFor({ timeout: WAIT_MS });
    await attach(carol.page, { name: 'tool.bin', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 1, 2, 3, 255]) }, false);
    await carol.page.getByRole('alert').filter({ hasText: '“tool.bin” cannot be sent: Files of type application/octet-stream are not accepted' }).waitFor({ timeout: WAIT_MS });
    await screenshot(carol.page, 'web-client-upload-refused');
    assert.equal(await carol.page.getByRole('list', { name: 'Files for the message' }).count(), 0);
    assert.ok(await carol.page.getByRole('button', { name: 'Send', exact: true }).isDisabled());

    assertCleanPages();
  }

  async function editsAndExpiredFiles(): Promise<void> {
    const erin = await arrive('erin');
    const frank = await arrive('frank');
    await signUp(erin);
    await signUp(frank);
    await meetInPublicRoom(erin, frank, 'kitchen');

    // Frank edits his message: Erin sees the new text, marked edited, in place.
    await sendFrom(frank.page, 'Lunch at noon?');
    await sendFrom(erin.page, 'Sounds good');
    await waitForMessages(erin.page, ['Lunch at noon?', 'Sounds good']);
    assert.equal(await messageItem(erin.page, 'Sounds good').getByRole('button', { name: 'Edit', exact: true }).count(), 1, 'her own message offers Edit');
    assert.equal(await messageItem(erin.page, 'Lunch at noon?').getByRole('button', { name: 'Edit', exact: true }).count(), 0, "another's does not");
    await messageItem(frank.page, 'Lunch at noon?').getByRole('button', { name: 'Edit', exact: true }).click();
    await frank.page.getByLabel('Edit message').fill('Lunch at one?');
    await frank.page.getByRole('button', { name: 'Save', exact: true }).click();
    await waitForMessages(erin.page, ['Lunch at one?', 'Sounds good']);
    await messageItem(erin.page, 'Lunch at one?').getByText('(edited)').waitFor({ timeout: WAIT_MS });
    await waitForMessages(frank.page, ['Lunch at one?', 'Sounds good']);

    // Reactions: counts and who reacted (pressed for the viewer's own), live on both sides.
    const react = async (person: Person, emoji: string) => {
      await messageItem(person.page, 'Lunch at one?').getByRole('button', { name: 'Add reaction' }).click();
      await person.page.getByRole('group', { name: 'Pick a reaction' }).getByRole('button', { name: `React with ${emoji}` }).click();
    };
    await react(erin, '👍');
    await waitFor(async () => assert.deepEqual(await reactionsOf(frank.page, 'Lunch at one?'), [['👍 1', 'false']]), "Erin's reaction, on Frank's page");
    await react(frank, '👍');
    await react(frank, '🎉');
    await waitFor(
      async () => assert.deepEqual(await reactionsOf(erin.page, 'Lunch at one?'), [['👍 2', 'true'], ['🎉 1', 'false']]),
      "Frank's reactions, on Erin's page",
    );
    await messageItem(frank.page, 'Lunch at one?').getByRole('button', { name: '👍 2' }).click();
    await waitFor(async () => assert.deepEqual(await reactionsOf(erin.page, 'Lunch at one?'), [['👍 1', 'true'], ['🎉 1', 'false']]), "Frank's 👍 taken back");
    await screenshot(erin.page, 'web-client-reactions');

    // A change made while Erin's socket is down shows once it is back (MessageUpdated is live only).
    const erinSockets = await switchSocketsOf(erin.page);
    await erin.page.reload();
    await waitFor(async () => assert.deepEqual(await reactionsOf(erin.page, 'Lunch at one?'), [['👍 1', 'true'], ['🎉 1', 'false']]), 'the reactions, reloaded');
    erinSockets.drop();
    await messageItem(frank.page, 'Lunch at one?').getByRole('button', { name: '🎉 1' }).click();
    await waitFor(async () => assert.deepEqual(await reactionsOf(frank.page, 'Lunch at one?'), [['👍 1', 'false']]), "Frank's 🎉 taken back");
    erinSockets.restore();
    await waitFor(async () => assert.deepEqual(await reactionsOf(erin.page, 'Lunch at one?'), [['👍 1', 'true']]), 'the change caught up after the reconnect');

    // A reply edited in a thread Erin has open changes there.
    await messageItem(frank.page, 'Lunch at one?').getByRole('button', { name: 'Reply in thread' }).click();
    await frank.page.getByLabel('Reply', { exact: true }).fill('At the corner café');
    await frank.page.getByRole('button', { name: 'Send reply' }).click();
    await messageItem(erin.page, 'Lunch at one?').getByRole('button', { name: '1 reply' }).click();
    await waitFor(async () => assert.deepEqual(await replyBodies(erin.page), ['At the corner café']), 'the reply');
    await frank.page.getByRole('log', { name: 'Replies' }).getByRole('button', { name: 'Edit', exact: true }).click();
    await frank.page.getByLabel('Edit message').fill('At the bakery');
    await frank.page.getByRole('button', { name: 'Save', exact: true }).click();
    await waitFor(async () => assert.deepEqual(await replyBodies(erin.page), ['At the bakery']), 'the edited reply');
    // The reply is the room's last message: the room list's preview follows its edit.
    await waitFor(async () => assert.equal(await previewOf(erin.page, 'kitchen'), `${frank.name}: At the bakery`), 'the preview of the edited reply');
    await erin.page.getByRole('button', { name: 'Close thread' }).click();

    // Frank deletes his message: Erin sees it deleted, with nothing left to react with; its thread stays.
    await messageItem(frank.page, 'Lunch at one?').getByRole('button', { name: 'Delete', exact: true }).click();
    await waitForMessages(erin.page, ['Message deleted', 'Sounds good']);
    const deleted = messageItem(erin.page, 'Message deleted');
    assert.equal(await deleted.getByRole('button', { name: 'Add reaction' }).count(), 0);
    assert.equal(await deleted.getByRole('list', { name: 'Reactions' }).count(), 0);
    await deleted.getByRole('button', { name: '1 reply' }).waitFor({ timeout: WAIT_MS });

    // An image whose signed URL expired before the browser asked for it: the client reads the message's
    // URLs again and shows it. Erin's first request for it is held until the server refuses that URL.
    const fileRequests: string[] = [];
    await erin.page.route(/\/files\//, async (route) => {
      const url = route.request().url();
      fileRequests.push(url);
      if (fileRequests.length === 1) assert.equal(await statusOnceExpired(url), 403, 'the server refuses the expired URL');
      await route.continue();
    });
    await attach(frank.page, { name: 'plate.png', mimeType: 'image/png', buffer: png(4, 3) });
    await sendFrom(frank.page, '');
    const image = messageItem(erin.page, 'plate.png').getByRole('img', { name: 'plate.png' });
    await waitFor(
      async () => assert.deepEqual(await image.evaluate((img: HTMLImageElement) => [img.complete, img.naturalWidth, img.naturalHeight]), [true, 4, 3]),
      'the image shown from a renewed URL',
    );
    assert.equal(fileRequests.length, 2, 'the expired URL, then the renewed one');
    assert.notEqual(fileRequests[1], fileRequests[0]);
    assert.equal(new URL(await image.evaluate((img: HTMLImageElement) => img.src)).search, new URL(fileRequests[1]!).search);
    await erin.page.unroute(/\/files\//);

    // A download link followed after its URL expired: renewed first, so the file downloads.
    const recipe = { name: 'recipe.txt', mimeType: 'text/plain', buffer: Buffer.from('Flour, water, salt.\n') };
    await attach(frank.page, recipe);
    await sendFrom(frank.page, 'The recipe');
    const link = messageItem(erin.page, 'The recipe').getByRole('link', { name: 'recipe.txt' });
    await link.waitFor({ timeout: WAIT_MS });
    const shownHref = new URL((await link.getAttribute('href'))!, origin).href;
    assert.equal(await statusOnceExpired(shownHref), 403);
    const [download] = await Promise.all([erin.page.waitForEvent('download', { timeout: WAIT_MS }), link.click()]);
    assert.notEqual(download.url(), shownHref, 'downloaded from a renewed URL');
    assert.deepEqual(readFileSync(await download.path()), recipe.buffer);

    // The browser logs the refused image once; the renewed link asked no refused URL.
    const refused = 'Failed to load resource: the server responded with a status of 403 (Forbidden)';
    assert.deepEqual(erin.pageErrors.filter((error) => error === refused), [refused]);
    erin.pageErrors.splice(erin.pageErrors.indexOf(refused), 1);
    assertCleanPages();
  }

  /** Waits until the server no longer serves this signed URL (FILE_URL_TTL passed); its status then. */
  async function statusOnceExpired(url: string): Promise<number> {
    const deadline = Date.now() + (FILE_URL_TTL_S + 2) * 1000 + WAIT_MS;
    for (;;) {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (!response.ok || Date.now() > deadline) return response.status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
});

/** The reactions on a message in the open room's log: each button's text and whether it is pressed (the viewer's). */
function reactionsOf(page: Page, body: string): Promise<string[][]> {
  return messageItem(page, body)
    .getByRole('list', { name: 'Reactions' })
    .getByRole('button')
    .evaluateAll((buttons) => buttons.map((button) => [button.textContent ?? '', button.getAttribute('aria-pressed') ?? '']));
}

/** Picks a file with the main composer's attach button; waits until it is uploaded, unless it is to be refused. */
async function attach(page: Page, file: { name: string; mimeType: string; buffer: Buffer }, accepted = true): Promise<void> {
  await page.getByLabel('Attach files to the message').setInputFiles(file);
  if (accepted) await page.getByRole('list', { name: 'Files for the message' }).getByRole('button', { name: `Remove ${file.name}` }).waitFor({ timeout: WAIT_MS });
}

/** The last-message preview of a room in the room list. */
function previewOf(page: Page, room: string): Promise<string | null> {
  return page.getByRole('list', { name: 'Rooms' }).getByRole('listitem').filter({ hasText: room }).locator('.preview').textContent();
}

/** A message in the open room's log, by its body. */
function messageItem(page: Page, body: string) {
  return page.getByRole('log', { name: 'Messages' }).getByRole('listitem').filter({ has: page.locator('.body', { hasText: body }) });
}

/** The bodies of the open thread's replies, top to bottom. */
function replyBodies(page: Page): Promise<string[]> {
  return page.getByRole('log', { name: 'Replies' }).locator('li .body').allTextContents();
}

/** A real PNG (one grey 8-bit channel) of the given size, for a browser to decode. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const framed = Buffer.alloc(typed.length + 8);
    framed.writeUInt32BE(data.length, 0);
    typed.copy(framed, 4);
    framed.writeUInt32BE(crc32(typed), typed.length + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(8, 8); // bit depth; colour type 0 (grey), compression, filter, interlace: 0
  // Each row: filter byte 0, then its pixels.
  const pixels = Buffer.alloc((width + 1) * height, 0x80);
  for (let row = 0; row < height; row += 1) pixels[row * (width + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

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
