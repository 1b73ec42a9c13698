import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print } from 'graphql';
import type { Browser, Page } from 'playwright-core';
import { graphql } from './generated/gql.js';
import { launchBrowser, screenshot } from './support/browser.js';
import { send } from './support/chat.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';

const GraphiQLMe = graphql(`
  query GraphiQLMe {
    me {
      username
    }
  }
`);

const GraphiQLCreateRoom = graphql(`
  mutation GraphiQLCreateRoom {
    createRoom(input: { name: "made in GraphiQL" }) {
      id
      name
    }
  }
`);

const GraphiQLMessages = graphql(`
  subscription GraphiQLMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
      body
    }
  }
`);

const TIMEOUT_MS = 60_000;

/**
 * Replaces an editor's text as a paste would: typing into the Monaco editor would add its own
 * closing brackets and indentation.
 */
async function pasteInto(page: Page, editor: string, text: string): Promise<void> {
  await page.locator(editor).first().click();
  await page.keyboard.press('Control+A');
  await page.evaluate((value) => {
    const data = new DataTransfer();
    data.setData('text/plain', value);
    document.activeElement!.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

const QUERY_EDITOR = '.graphiql-query-editor .graphiql-editor';
/** The editor of the tab open under the query editor: Variables or Headers. */
const TOOL_EDITOR = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';

/**
 * Puts one operation in the query editor and runs it. GraphiQL takes in an edit a moment later: the
 * tab, named after the operation, shows when it has.
 */
async function start(page: Page, document: TypedDocumentNode<unknown, never>): Promise<void> {
  const name = getOperationAST(document)!.name!.value;
  await pasteInto(page, QUERY_EDITOR, print(document));
  await page.locator('.graphiql-tab-active', { hasText: name }).waitFor({ timeout: TIMEOUT_MS });
  await page.locator('.graphiql-execute-button').click();
}

/** Runs one operation and waits for the result pane to match. */
async function run(page: Page, document: TypedDocumentNode<unknown, never>, expected: RegExp): Promise<string> {
  await start(page, document);
  return waitForResult(page, expected);
}

/** An editor's text as shown (Monaco renders spaces as no-break spaces). */
const textOf = async (page: Page, editor: string) => (await page.locator(editor).first().innerText()).replace(/\u00a0/g, ' ');

async function waitForResult(page: Page, expected: RegExp): Promise<string> {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const text = await textOf(page, '.graphiql-response');
    if (expected.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`the result pane never matched ${expected}: ${text}`);
    await page.waitForTimeout(100);
  }
}

describe('GraphiQL', () => {
  let api: TestServer;
  let browser: Browser;
  before(async () => {
    api = await startTestServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await api?.close();
  });

  it('serves the page and every asset it loads from the server, versioned and compressed', async () => {
    const page = await fetch(api.url, { headers: { accept: 'text/html' } });
    assert.equal(page.status, 200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"|"(\/graphiql\/[^"]+)"/g)].map((match) => (match[1] ?? match[2])!);
    assert.deepEqual(assets.filter((url) => !url.startsWith('/graphiql/')), [], 'everything the page loads is ours');
    assert.equal(new Set(assets).size, 6, assets.join(' '));
    for (const asset of new Set(assets)) {
      const plain = await fetch(new URL(asset, api.url), { headers: { 'accept-encoding': 'identity' } });
      assert.equal(plain.status, 200, asset);
      assert.match(plain.headers.get('content-type') ?? '', /javascript|css|icon/, asset);
      assert.match(plain.headers.get('cache-control') ?? '', /immutable/, asset);
      const body = Buffer.from(await plain.arrayBuffer());
      assert.equal(body.length, Number(plain.headers.get('content-length')), asset);
      assert.ok(body.length > 1000, asset);
    }
    // Compressed when the browser accepts it (fetch decompresses on the way in).
    const script = assets.find((url) => url.endsWith('graphiql.js'))!;
    const gzipped = await fetch(new URL(script, api.url), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gzipped.headers.get('content-encoding'), 'gzip');
    assert.ok(Number(gzipped.headers.get('content-length')) < 3_000_000);
    assert.match(await gzipped.text(), /renderYogaGraphiQL/);
    for (const missing of ['/graphiql/0.0.0/graphiql.js', `${script.replace('graphiql.js', '')}nope.js`, '/graphiql/']) {
      assert.equal((await fetch(new URL(missing, api.url))).status, 404, missing);
    }
  });

  it('loads from the server alone and runs signed-in queries, mutations and subscriptions with the token in its Headers tab', async () => {
    const user = await createUser(api, 'graphiql');
    const origin = new URL(api.url).origin;
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    // Everything the page asks the network for; data: and blob: URLs never leave the browser.
    const requests: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    page.on('websocket', (socket) => requests.push(socket.url()));
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(api.url);
      await page.waitForSelector(QUERY_EDITOR, { timeout: TIMEOUT_MS });
      assert.equal(await page.title(), 'Parley');
      // The welcome tab: how to sign up, where the token goes, a subscription to try.
      const welcome = await textOf(page, QUERY_EDITOR);
      // (Only the lines in view are in the page: the steps at the top, which name the operations below them.)
      for (const step of [/Sign up/, /Headers tab/, /"Authorization": "Bearer <token>"/, /run MessageAdded/, /mutation SignUp/]) {
        assert.match(welcome, step);
      }
      // The Headers tab is open, waiting for the token.
      assert.match(await textOf(page, TOOL_EDITOR), /"Authorization": ""/);

      await pasteInto(page, TOOL_EDITOR, JSON.stringify({ Authorization: `Bearer ${user.token}` }, null, 2));
      await run(page, GraphiQLMe, new RegExp(`"username": "${user.username}"`));
      const created = await run(page, GraphiQLCreateRoom, /"name": "made in GraphiQL"/);
      // The pane wraps long lines; an id has no spaces.
      const roomId = /"id":"([^"]+)"/.exec(created.replace(/\s+/g, ''))![1]!;

      // The subscription goes over graphql-ws with the Headers tab in its extensions.
      const listening = api.server.app.bus.activeSubscriptions();
      await page.locator('.graphiql-editor-tools button[data-name="variables"]').click();
      await pasteInto(page, TOOL_EDITOR, JSON.stringify({ roomId }));
      await start(page, GraphiQLMessages);
      for (let waited = 0; api.server.app.bus.activeSubscriptions() <= listening; waited += 50) {
        if (waited > TIMEOUT_MS) throw new Error('GraphiQL never subscribed');
        await page.waitForTimeout(50);
      }
      await send(api, user, roomId, 'sent while GraphiQL listens');
      await waitForResult(page, /"body": "sent while GraphiQL listens"/);
      await send(api, user, roomId, 'and another');
      await waitForResult(page, /"seq": 2,\s+"body": "and another"/);
      await screenshot(page, 'graphiql-subscription');

      const foreign = requests.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== origin && new URL(url.replace(/^ws/, 'http')).origin !== origin);
      assert.deepEqual(foreign, []);
      assert.ok(requests.some((url) => url.includes('/graphiql/')), 'the assets came from /graphiql/');
      assert.ok(requests.some((url) => url.startsWith('ws://')), 'the subscription went over the WebSocket');
      assert.deepEqual(pageErrors, []);
    } catch (error) {
      await screenshot(page, 'graphiql-failure').catch(() => {});
      throw error;
    } finally {
      await context.close();
    }
  });
});
