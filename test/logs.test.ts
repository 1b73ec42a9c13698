import assert from 'node:assert/strict';
import { print } from 'graphql';
import { describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith } from './support/chat.js';
import { capturedLogger } from './support/logs.js';
import { startTestServer, uniqueName } from './support/server.js';
import { connectSocket, subscribeReady } from './support/ws.js';
import { waitFor } from './support/wait.js';

const LogSignUp = graphql(`
  mutation LogSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
      user {
        id
      }
    }
  }
`);

const LogLogIn = graphql(`
  mutation LogLogIn($input: LogInInput!) {
    logIn(input: $input) {
      token
    }
  }
`);

const LogMe = graphql(`
  query LogMe {
    me {
      id
      username
    }
  }
`);

const LogMessages = graphql(`
  subscription LogMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
    }
  }
`);

const LogSendPayload = graphql(`
  mutation LogSendPayload($input: SendMessageInput!) {
    sendMessage(input: $input) {
      id
    }
  }
`);

describe('logs', () => {
  it('write one line per request and per socket event, with request ids, and never a password or a token', async () => {
    const captured = capturedLogger();
    const api = await startTestServer({
      logger: captured.logger,
      // An internal error on demand: the checker fails on a payload asking for it.
      messageChecker: {
        checkPayload: (payload) => {
          if ((payload as { explode?: boolean }).explode) throw new Error('message checker exploded');
          return null;
        },
      },
    });
    const password = `secret-${uniqueName('pw')}`;
    const username = uniqueName('logs');
    let token: string;
    try {
      const signedUp = await api.ok(LogSignUp, { input: { username, password } });
      const loggedIn = await api.ok(LogLogIn, { input: { username, password } });
      token = loggedIn.logIn.token;
      assert.equal((await api.request(LogLogIn, { input: { username, password: `${password}-wrong` } })).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      assert.equal((await api.ok(LogMe, {}, token)).me?.id, signedUp.signUp.user.id);
      assert.equal((await api.request(LogMe, {}, `${token}x`)).errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      // A password in a query string (a mutation over GET is refused, but the URL reaches the server).
      await fetch(`${api.url}?query=${encodeURIComponent(`mutation { logIn(input: { username: "${username}", password: "${password}" }) { token } }`)}`);

      // The request id: a sane incoming one is kept and echoed; anything else is replaced.
      const tagged = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'client-chosen-id-1', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: 'query Tagged { me { id } }' }),
      });
      assert.equal(tagged.headers.get('x-request-id'), 'client-chosen-id-1');
      const insane = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'has spaces and "quotes"' },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      assert.match(insane.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);

      // An internal error: logged in full, with its request's id.
      const roomId = await createRoomWith(api, { id: signedUp.signUp.user.id, username, token }, []);
      const exploding = await fetch(api.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'exploding-request', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: print(LogSendPayload), variables: { input: { roomId, payload: { explode: true } } } }),
      });
      const explodingBody = (await exploding.json()) as { errors?: { extensions?: { code?: string } }[] };
      assert.equal(explodingBody.errors?.[0]?.extensions?.code, 'INTERNAL_SERVER_ERROR');

      // A socket with the token, a subscription, and a socket with a bad token.
      const socket = await connectSocket(api.wsUrl, token);
      await subscribeReady(api.server.app.bus, socket, LogMessages, { roomId });
      await socket.dispose();
      await assert.rejects(connectSocket(api.wsUrl, `${token}x`));
      await waitFor(() => captured.lines().filter((line) => line.msg === 'socket closed').length === 2, 'both sockets closed');
    } finally {
      await api.close();
    }

    const lines = captured.lines();
    const requests = lines.filter((line) => line.msg === 'request');
    assert.ok(requests.length >= 9, `a line per request (${requests.length})`);
    for (const line of requests) {
      assert.equal(typeof line.requestId, 'string');
      assert.equal(typeof line.method, 'string');
      assert.equal(typeof line.status, 'number');
      assert.equal(typeof line.durationMs, 'number');
    }
    const taggedLine = requests.find((line) => line.requestId === 'client-chosen-id-1');
    assert.deepEqual(
      { method: taggedLine?.method, path: taggedLine?.path, status: taggedLine?.status, operation: taggedLine?.operation },
      { method: 'POST', path: '/graphql', status: 200, operation: 'Tagged' },
    );
    assert.ok(requests.some((line) => line.operation === 'LogSignUp'));
    const internal = lines.find((line) => line.msg === 'internal error');
    assert.equal(internal?.requestId, 'exploding-request', 'the error log carries the request id');
    assert.match(JSON.stringify(internal?.err), /message checker exploded/);
    assert.ok(requests.some((line) => line.requestId === 'exploding-request' && line.operation === 'LogSendPayload'));

    const sockets = lines.filter((line) => line.msg.startsWith('socket '));
    const opened = sockets.filter((line) => line.msg === 'socket open');
    assert.equal(opened.length, 2);
    const signedIn = sockets.find((line) => line.msg === 'socket signed in');
    assert.ok(signedIn, 'the signed-in socket says so');
    const ownLines = sockets.filter((line) => line.requestId === signedIn.requestId).map((line) => line.msg);
    assert.deepEqual(ownLines, ['socket open', 'socket signed in', 'socket closed']);
    const closed = sockets.find((line) => line.msg === 'socket closed' && line.requestId === signedIn.requestId);
    assert.equal(closed?.code, 1000);
    assert.equal(typeof closed?.durationMs, 'number');
    assert.ok(sockets.some((line) => line.msg === 'socket refused: invalid token'));
    assert.ok(sockets.some((line) => line.msg === 'socket closed' && line.code === 4403));

    const everything = captured.text();
    assert.ok(!everything.includes(password), 'no password in the log');
    assert.ok(!everything.includes(token!), 'no token in the log');
  });
});
