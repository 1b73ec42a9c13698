import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { startTestServer, type TestServer } from './support/server.js';

const WebServingMe = graphql(`
  query WebServingMe {
    me {
      id
    }
  }
`);

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(origin: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
    const url = new URL(origin);
    const req = request({ host: url.hostname, port: url.port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web client at /', () => {
  let api: TestServer;
  let origin: string;
  const scratch = mkdtempSync(join(tmpdir(), 'parley-web-'));
  const webDir = join(scratch, 'dist');

  before(async () => {
    mkdirSync(join(webDir, 'assets'), { recursive: true });
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>client</title><script src="/assets/app-1a2b3c.js"></script>');
    writeFileSync(join(webDir, 'assets', 'app-1a2b3c.js'), 'console.log("app");');
    writeFileSync(join(webDir, 'assets', 'style-4d5e6f.css'), 'body { margin: 0 }');
    writeFileSync(join(webDir, 'robots.txt'), 'User-agent: *');
    writeFileSync(join(webDir, '.sources-hash'), 'hash');
    writeFileSync(join(scratch, 'secret.txt'), 'outside the web root');
    api = await startTestServer({ env: { WEB_DIR: webDir } });
    origin = new URL(api.url).origin;
  });

  after(async () => {
    await api.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves index.html at / and for client routes a browser navigates to, never cached stale', async () => {
    for (const path of ['/', '/rooms/Um9vbTox', '/rooms/Um9vbTox?x=1']) {
      const response = await fetch(`${origin}${path}`, { headers: { accept: 'text/html,application/xhtml+xml' } });
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(response.headers.get('cache-control'), 'no-cache');
      assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.match(await response.text(), /<title>client<\/title>/);
    }
  });

  it('serves files with their content type; hashed assets are cached for good, others revalidated', async () => {
    const script = await fetch(`${origin}/assets/app-1a2b3c.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(script.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(await script.text(), 'console.log("app");');
    const style = await fetch(`${origin}/assets/style-4d5e6f.css`);
    assert.equal(style.headers.get('content-type'), 'text/css; charset=utf-8');
    const robots = await fetch(`${origin}/robots.txt`);
    assert.equal(robots.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(robots.headers.get('cache-control'), 'no-cache');

    const etag = robots.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${origin}/robots.txt`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const head = await fetch(`${origin}/assets/app-1a2b3c.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String('console.log("app");'.length));
  });

  it('answers 404 for missing files and for API clients, and never serves outside the web root or hidden files', async () => {
    assert.equal((await fetch(`${origin}/assets/missing-000000.js`, { headers: { accept: 'text/html' } })).status, 404);
    assert.equal((await fetch(`${origin}/nope`)).status, 404, 'no fallback for a request that does not want HTML');
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/..%5csecret.txt', '/.sources-hash', '/%00']) {
      const response = await rawGet(origin, path, { accept: 'application/json' });
      assert.equal(response.status, 404, path);
      assert.doesNotMatch(response.body, /outside the web root|hash/, path);
    }
    const post = await fetch(`${origin}/`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('leaves /graphql, /health and /ready to the API', async () => {
    assert.equal((await fetch(`${origin}/health`)).status, 200);
    assert.equal((await fetch(`${origin}/ready`)).status, 200);
    assert.deepEqual(await api.ok(WebServingMe, {}), { me: null });
    const graphiql = await fetch(`${origin}/graphql`, { headers: { accept: 'text/html' } });
    assert.match(await graphiql.text(), /graphiql/i);
  });
});

describe('the web client when it is not built', () => {
  let api: TestServer;
  const empty = mkdtempSync(join(tmpdir(), 'parley-web-empty-'));

  before(async () => {
    api = await startTestServer({ env: { WEB_DIR: empty } });
  });

  after(async () => {
    await api.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('says how to build it at /, and the API still works', async () => {
    const response = await fetch(new URL('/', api.url));
    assert.equal(response.status, 404);
    assert.match(await response.text(), /npm run build:web/);
    assert.deepEqual(await api.ok(WebServingMe, {}), { me: null });
  });
});
