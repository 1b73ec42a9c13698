import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { auditServer } from 'graphql-http';
import { startTestServer, type GraphQLErrorJson, type TestServer } from './support/server.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  errors?: GraphQLErrorJson[];
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let errors: GraphQLErrorJson[] | undefined;
  try {
    errors = (JSON.parse(text) as { errors?: GraphQLErrorJson[] }).errors;
  } catch {
    errors = undefined;
  }
  return { status: response.status, headers: response.headers, text, errors };
}

const ACCEPTS = ['application/json', 'application/graphql-response+json', 'application/graphql-response+json, application/json', '*/*', undefined];

describe('GraphQL over HTTP, per the spec', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it("passes every one of graphql-http's server audits", async () => {
    const results = await auditServer({ url: api.url });
    assert.ok(results.length >= 50, `only ${results.length} audits ran`);
    const notOk = results.filter((result) => result.status !== 'ok');
    assert.deepEqual(
      notOk.map((result) => `${result.id} ${result.status}: ${result.name}`),
      [],
    );
  });

  it('answers malformed JSON and an empty body with 400 BAD_USER_INPUT, whatever the accept', async () => {
    for (const accept of ACCEPTS) {
      for (const [label, body] of [
        ['malformed JSON', '{"query": "{ me { id } }"'],
        ['empty body', ''],
        ['not UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
      ] as const) {
        const answer = await call(api.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(accept ? { accept } : {}) },
          body,
        });
        assert.equal(answer.status, 400, `${label}, accept ${accept}: ${answer.text}`);
        assert.equal(answer.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${label}, accept ${accept}`);
      }
    }
  });

  it('answers malformed variables or extensions in a GET query string with 400 BAD_USER_INPUT', async () => {
    const query = encodeURIComponent('{ me { id } }');
    for (const accept of ACCEPTS) {
      for (const parameters of ['variables=x', 'extensions=x', 'variables=%7B', 'extensions=%5B1%2C']) {
        const answer = await call(`${api.url}?query=${query}&${parameters}`, { headers: accept ? { accept } : {} });
        assert.equal(answer.status, 400, `${parameters}, accept ${accept}: ${answer.text}`);
        assert.equal(answer.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
        assert.match(answer.errors?.[0]?.message ?? '', /not valid JSON/);
      }
    }
    // The same in a form body.
    const form = await call(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `query=${query}&variables=x`,
    });
    assert.equal(form.status, 400, form.text);
    assert.equal(form.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  it('answers no malformed request with a 5xx', async () => {
    /** A multipart body (the GraphQL multipart request spec) with these fields, and a file part "0" if asked. */
    const multipart = (fields: Record<string, string>, withFile = false) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(fields)) form.append(name, value);
      if (withFile) form.append('0', new Blob(['x'], { type: 'text/plain' }), 'x.txt');
      return form;
    };
    const json = { 'content-type': 'application/json', accept: 'application/graphql-response+json' };
    const deepArray = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const mutationOverGet = `?query=${encodeURIComponent('mutation { setTyping(roomId: "x", typing: true) }')}`;
    const cases: [string, string, RequestInit][] = [
      ['text/plain body', '', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ me { id } }"}' }],
      ['no content-type', '', { method: 'POST', body: '{"query":"{ me { id } }"}' }],
      ['multipart', '', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x--\r\n' }],
      ['multipart, operations not JSON', '', { method: 'POST', body: multipart({ operations: '{', map: '{}' }) }],
      ['multipart, map to a missing part', '', { method: 'POST', body: multipart({ operations: '{"query":"{ me { id } }","variables":{"f":null}}', map: '{"0":["variables.f"]}' }) }],
      ['multipart, map not an object', '', { method: 'POST', body: multipart({ operations: '{"query":"{ me { id } }"}', map: '[1]' }) }],
      ['multipart, a file where a string goes', '', { method: 'POST', body: multipart({ operations: '{"query":"query($s: String) { users(search: $s) { edges { cursor } } }","variables":{"s":null}}', map: '{"0":["variables.s"]}' }, true) }],
      ['unknown charset', '', { method: 'POST', headers: { ...json, 'content-type': 'application/json; charset=klingon' }, body: '{"query":"{ me { id } }"}' }],
      ['batched array', '', { method: 'POST', headers: json, body: '[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]' }],
      ['empty array', '', { method: 'POST', headers: json, body: '[]' }],
      ['JSON null', '', { method: 'POST', headers: json, body: 'null' }],
      ['JSON string', '', { method: 'POST', headers: json, body: '"{ me { id } }"' }],
      ['no query', '', { method: 'POST', headers: json, body: '{}' }],
      ['query not a string', '', { method: 'POST', headers: json, body: '{"query":{"a":1}}' }],
      ['variables an array', '', { method: 'POST', headers: json, body: '{"query":"{ me { id } }","variables":[1]}' }],
      ['variables a string', '', { method: 'POST', headers: json, body: '{"query":"{ me { id } }","variables":"{}"}' }],
      ['extensions a number', '', { method: 'POST', headers: json, body: '{"query":"{ me { id } }","extensions":1}' }],
      ['operationName a number', '', { method: 'POST', headers: json, body: '{"query":"{ me { id } }","operationName":1}' }],
      ['deeply nested JSON', '', { method: 'POST', headers: json, body: `{"query":"{ me { id } }","variables":{"a":${deepArray}}}` }],
      ['deeply nested document', '', { method: 'POST', headers: json, body: JSON.stringify({ query: `{${' me {'.repeat(5000)}${'}'.repeat(5000)}}` }) }],
      ['unknown extension key', '', { method: 'POST', headers: json, body: '{"query":"{ me { id } }","extensions":{"persistedQuery":{"sha256Hash":"x"}}}' }],
      ['subscription without event-stream', '', { method: 'POST', headers: json, body: '{"query":"subscription { myEvents { __typename } }"}' }],
      ['mutation over GET', mutationOverGet, { headers: { accept: 'application/json' } }],
      ['PUT', '', { method: 'PUT', headers: json, body: '{"query":"{ me { id } }"}' }],
      ['DELETE', '', { method: 'DELETE' }],
      ['PATCH', '', { method: 'PATCH', headers: json, body: '{}' }],
      ['HEAD', '', { method: 'HEAD' }],
      ['OPTIONS', '', { method: 'OPTIONS' }],
      ['unacceptable accept', '', { method: 'POST', headers: { ...json, accept: 'image/png' }, body: '{"query":"{ me { id } }"}' }],
      ['bad Authorization', '', { method: 'POST', headers: { ...json, authorization: 'Bearer' }, body: '{"query":"{ me { id } }"}' }],
      ['huge header', '', { method: 'POST', headers: { ...json, 'x-padding': 'x'.repeat(20_000) }, body: '{"query":"{ me { id } }"}' }],
      ['GET without query', '', { headers: { accept: 'application/json' } }],
      ['query string with bad escapes', '?query=%E0%A4%A', { headers: { accept: 'application/json' } }],
    ];
    for (const [label, search, init] of cases) {
      const answer = await call(`${api.url}${search}`, init);
      assert.ok(answer.status >= 200 && answer.status < 500, `${label}: ${answer.status} ${answer.text.slice(0, 300)}`);
      for (const error of answer.errors ?? []) {
        assert.ok(['BAD_USER_INPUT', 'UNAUTHENTICATED'].includes(error.extensions?.code ?? ''), `${label}: ${answer.text}`);
      }
    }
    // A mutation over GET is refused (405, Allow: POST) with a contract code.
    const get = await call(`${api.url}${mutationOverGet}`, { headers: { accept: 'application/json' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');
    assert.equal(get.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    // And the server is fine afterwards.
    assert.deepEqual(JSON.parse((await call(api.url, { method: 'POST', headers: json, body: '{"query":"{ me { id } }"}' })).text), { data: { me: null } });
  });
});

describe('a body over MAX_BODY_BYTES', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  const tooLarge = (answer: Answer) => {
    assert.equal(answer.status, 413, answer.text.slice(0, 300));
    assert.equal(answer.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    assert.match(answer.errors?.[0]?.message ?? '', /limit of 1000000 bytes/);
  };

  it("is answered 413 PAYLOAD_TOO_LARGE, and a client still writing reads the answer (Node's fetch, 5 MB)", async () => {
    const body = JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(5_000_000)}` });
    tooLarge(await call(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
  });

  it('lets a client that writes at network pace finish its body and read the 413', async () => {
    // Written 64 KiB at a time as a slower link would: answering and closing early cut such a client off (EPIPE).
    const url = new URL(api.url);
    const size = 5_000_000;
    const outcome = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': size } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (data: Buffer) => chunks.push(data));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const writeNext = () => {
        if (sent >= size) return req.end();
        const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += part.length;
        req.write(part);
        setTimeout(writeNext, 1);
      };
      writeNext();
    });
    tooLarge({ status: outcome.status, headers: new Headers(), text: outcome.text, errors: JSON.parse(outcome.text).errors });
  });

  it('is answered 413 without a content-length too (chunked)', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"query":"{ me { id } } #'));
        if (sent >= 3_000_000) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    tooLarge(await call(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit));
  });

  it('keeps the connection for the next request once the body was read', async () => {
    // One keep-alive socket: the 413 and the next answer come over the same connection.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string) =>
      new Promise<{ status: number; text: string; socket: unknown }>((resolve, reject) => {
        const url = new URL(api.url);
        const req = httpRequest(
          { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (data: Buffer) => chunks.push(data));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), socket: req.socket }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    try {
      const big = await post(JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(2_000_000)}` }));
      assert.equal(big.status, 413);
      const next = await post('{"query":"{ me { id } }"}');
      assert.equal(next.status, 200);
      assert.equal(next.socket, big.socket);
      assert.deepEqual(JSON.parse(next.text), { data: { me: null } });
    } finally {
      agent.destroy();
    }
  });

  it('past the discard bound, closes the connection and stays healthy', async () => {
    const body = JSON.stringify({ query: `{ me { id } } # ${'x'.repeat(40_000_000)}` });
    // The client may read the 413 or see the connection cut while writing; never anything else.
    const outcome = await call(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(
      (answer) => answer.status,
      () => 'cut',
    );
    assert.ok(outcome === 413 || outcome === 'cut', String(outcome));
    const answer = await call(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ me { id } }"}' });
    assert.equal(answer.status, 200);
  });
});
