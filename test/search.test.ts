import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ResultOf, TypedDocumentNode, VariablesOf } from '@graphql-typed-document-node/core';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { RoomsBan, RoomsRemove } from './support/rooms.js';
import { startTestServer, type GraphQLErrorJson, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { connectSocket, type SocketClient } from './support/ws.js';

const SearchMessages = graphql(`
  query SearchMessages($query: String!, $roomId: ID, $first: Int, $after: String, $last: Int, $before: String) {
    searchMessages(query: $query, roomId: $roomId, first: $first, after: $after, last: $last, before: $before) {
      edges {
        cursor
        node {
          message {
            id
            body
            room {
              id
            }
          }
          snippet {
            text
            highlighted
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
        hasPreviousPage
        startCursor
      }
    }
  }
`);

const SearchEdit = graphql(`
  mutation SearchEdit($messageId: ID!, $body: String!) {
    editMessage(messageId: $messageId, body: $body) {
      id
    }
  }
`);

const SearchDelete = graphql(`
  mutation SearchDelete($messageId: ID!) {
    deleteMessage(messageId: $messageId) {
      id
    }
  }
`);

type Answer = { data?: ResultOf<typeof SearchMessages> | null; errors?: GraphQLErrorJson[] };

/** A word no other test (or run) uses: letters only, so the search's parser reads it as one word. */
const word = () => `w${[...randomBytes(8)].map((byte) => String.fromCharCode(97 + (byte % 26))).join('')}`;

const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code ?? 'OK';

for (const transport of ['HTTP', 'graphql-ws'] as const) {
  describe(`searchMessages over ${transport}`, () => {
    let api: TestServer;
    let alice: TestUser;
    let bob: TestUser;
    let outsider: TestUser;
    const sockets = new Map<string, SocketClient>();

    /** One operation as the user, over this suite's transport. */
    async function call<Data, Vars>(document: TypedDocumentNode<Data, Vars>, variables: Vars, user?: TestUser) {
      if (transport === 'HTTP') return api.request(document, variables, user?.token);
      const key = user?.token ?? '';
      if (!sockets.has(key)) sockets.set(key, await connectSocket(api.wsUrl, user?.token));
      return sockets.get(key)!.execute(document, variables);
    }

    const search = (user: TestUser | undefined, variables: VariablesOf<typeof SearchMessages>): Promise<Answer> => call(SearchMessages, variables, user);

    /** The bodies a search finds, in order; fails on an error. */
    async function found(user: TestUser, query: string, roomId?: string): Promise<string[]> {
      const answer = await search(user, { query, roomId });
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      return answer.data!.searchMessages.edges.map(({ node }) => node.message.body!);
    }

    before(async () => {
      // RATE_LIMITS=off: each test searches many times in a burst, as no person does; the limit has its own test below.
      api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
      alice = await createUser(api, 'alice');
      bob = await createUser(api, 'bob');
      outsider = await createUser(api, 'outsider');
    });

    after(async () => {
      await Promise.all([...sockets.values()].map((socket) => socket.dispose()));
      await api.close();
    });

    it('finds messages of every room the viewer is in, best match first, then newest, with a highlighted snippet', async () => {
      const topic = word();
      const one = await createRoomWith(api, alice, [bob]);
      const other = await createRoomWith(api, bob, [alice], 'PUBLIC');
      await send(api, alice, one, `${topic} once, older`);
      await send(api, bob, other, `${topic} and ${topic} and ${topic}, thrice`);
      await send(api, bob, one, `${topic} once, newer`);
      await send(api, alice, other, `${topic.toUpperCase()} twice: ${topic}`);
      await send(api, alice, one, 'nothing to see here');
      assert.deepEqual(await found(alice, topic), [
        `${topic} and ${topic} and ${topic}, thrice`,
        `${topic.toUpperCase()} twice: ${topic}`,
        `${topic} once, newer`,
        `${topic} once, older`,
      ]);
      assert.deepEqual(await found(bob, topic, one), [`${topic} once, newer`, `${topic} once, older`], 'roomId narrows it to that room');

      const [best] = (await search(alice, { query: topic, first: 1 })).data!.searchMessages.edges;
      assert.deepEqual(best!.node.snippet, [
        { text: topic, highlighted: true },
        { text: ' and ', highlighted: false },
        { text: topic, highlighted: true },
        { text: ' and ', highlighted: false },
        { text: topic, highlighted: true },
        { text: ', thrice', highlighted: false },
      ]);
    });

    it('pages with first/after through every hit once, in order', async () => {
      const topic = word();
      const roomId = await createRoomWith(api, alice, []);
      for (let i = 0; i < 5; i++) await send(api, alice, roomId, `${topic} number ${i}`);
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 3; page++) {
        const answer: Answer = await search(alice, { query: topic, first: 2, after: cursor });
        const { edges, pageInfo } = answer.data!.searchMessages;
        seen.push(...edges.map(({ node }) => node.message.body!));
        assert.equal(pageInfo.hasNextPage, page < 2);
        cursor = pageInfo.endCursor ?? null;
      }
      assert.deepEqual(seen, [4, 3, 2, 1, 0].map((i) => `${topic} number ${i}`));

      // Backwards: last/before page from the end of the same order.
      const bodies = (answer: Answer) => answer.data!.searchMessages.edges.map(({ node }) => node.message.body);
      const tail = await search(alice, { query: topic, last: 2 });
      assert.deepEqual(bodies(tail), [1, 0].map((i) => `${topic} number ${i}`));
      assert.equal(tail.data!.searchMessages.pageInfo.hasPreviousPage, true);
      const earlier = await search(alice, { query: topic, last: 2, before: tail.data!.searchMessages.pageInfo.startCursor });
      assert.deepEqual(bodies(earlier), [3, 2].map((i) => `${topic} number ${i}`));
      assert.equal(codeOf(await search(alice, { query: topic, after: 'bm90IGEgY3Vyc29y' })), 'BAD_USER_INPUT');
    });

    it("never shows a private room's words to outsiders, and names no room they may not read", async () => {
      const secret = word();
      const privateRoom = await createRoomWith(api, alice, [bob]);
      const publicRoom = await createRoomWith(api, alice, [bob], 'PUBLIC');
      await send(api, alice, privateRoom, `the ${secret} plan`);
      await send(api, alice, publicRoom, `the public ${secret}`);
      assert.deepEqual(await found(outsider, secret), [], 'not even a PUBLIC room they have not joined');
      assert.deepEqual(await found(outsider, `${secret.slice(0, 4)}*`), []);
      assert.equal(codeOf(await search(outsider, { query: secret, roomId: privateRoom })), 'NOT_FOUND');
      assert.equal(codeOf(await search(outsider, { query: secret, roomId: publicRoom })), 'FORBIDDEN');
      assert.equal(codeOf(await search(undefined, { query: secret })), 'UNAUTHENTICATED');
      assert.equal((await found(bob, secret)).length, 2);
    });

    it("ends a banned or removed member's access to the room's messages", async () => {
      const topic = word();
      const carol = await createUser(api, 'carol');
      const roomId = await createRoomWith(api, alice, [bob, carol]);
      await send(api, alice, roomId, `${topic} before anything happened`);
      assert.equal((await found(bob, topic)).length, 1);
      assert.equal((await found(carol, topic)).length, 1);

      await api.ok(RoomsBan, { roomId, userId: bob.id }, alice.token);
      await api.ok(RoomsRemove, { roomId, userId: carol.id }, alice.token);
      for (const gone of [bob, carol]) {
        assert.deepEqual(await found(gone, topic), []);
        assert.equal(codeOf(await search(gone, { query: topic, roomId })), 'NOT_FOUND');
      }
    });

    it('matches "phrases" in order and word* as a prefix', async () => {
      const [quick, fox, stem] = [word(), word(), word()];
      const roomId = await createRoomWith(api, alice, []);
      await send(api, alice, roomId, `a ${quick} brown ${fox}`);
      await send(api, alice, roomId, `the ${fox} ${quick}`);
      await send(api, alice, roomId, `${stem}ing now`);
      await send(api, alice, roomId, `${stem}ment later`);
      await send(api, alice, roomId, `re${stem} never`);
      assert.equal((await found(alice, `${quick} ${fox}`)).length, 2, 'words match in any order');
      assert.deepEqual(await found(alice, `"${fox} ${quick}"`), [`the ${fox} ${quick}`]);
      assert.deepEqual(await found(alice, `"${quick} ${fox}"`), [], 'a phrase needs its words next to each other');
      assert.deepEqual((await found(alice, `${stem}*`)).sort(), [`${stem}ing now`, `${stem}ment later`]);
      assert.deepEqual(await found(alice, `${stem}* later`), [`${stem}ment later`]);
      assert.deepEqual(await found(alice, `${stem}* -later`), [`${stem}ing now`]);
      assert.deepEqual(await found(alice, `"the ${fox}" ${quick.slice(0, 5)}*`), [`the ${fox} ${quick}`]);
      assert.deepEqual(await found(alice, stem), [], 'without * a word matches whole words only');
    });

    it('reads query syntax as words, never as SQL or tsquery operators', async () => {
      const topic = word();
      const roomId = await createRoomWith(api, alice, []);
      await send(api, alice, roomId, `it's ${topic}`);
      for (const query of [`'; DROP TABLE "Message"; -- ${topic}`, `${topic}:* & !x | (y`, `it's* ${topic}`, `\\'${topic}\\'*`, `"${topic}`]) {
        const answer = await search(alice, { query });
        assert.equal(answer.errors, undefined, `${query}: ${JSON.stringify(answer.errors)}`);
      }
      assert.deepEqual(await found(alice, `it's* ${topic}`), [`it's ${topic}`]);
    });

    it('never matches deleted messages, and follows edits', async () => {
      const [gone, before, after] = [word(), word(), word()];
      const roomId = await createRoomWith(api, alice, [bob]);
      const deleted = await send(api, alice, roomId, `${gone} soon deleted`);
      const edited = await send(api, alice, roomId, `${before} then edited`);
      await api.ok(SearchDelete, { messageId: deleted.id }, alice.token);
      await api.ok(SearchEdit, { messageId: edited.id, body: `${after} after the edit` }, alice.token);
      assert.deepEqual(await found(bob, gone), []);
      assert.deepEqual(await found(bob, before), []);
      assert.deepEqual(await found(bob, after), [`${after} after the edit`]);
    });

    it('refuses text the database cannot hold, an empty query and an overlong one with BAD_USER_INPUT', async () => {
      for (const query of ['a\u0000b', 'a\ud800b', '', '  "" * ', 'x'.repeat(257)]) {
        const answer = await search(alice, { query });
        assert.equal(codeOf(answer), 'BAD_USER_INPUT', JSON.stringify(query));
        assert.equal(answer.errors?.[0]?.extensions?.field, 'query');
      }
    });
  });
}

describe('searchMessages rate', () => {
  it('refuses searches past SEARCH_RATE over HTTP and graphql-ws alike', async () => {
    const api = await startTestServer({ env: { SEARCH_RATE: '2/1h' } });
    const user = await createUser(api, 'searcher');
    const socket = await connectSocket(api.wsUrl, user.token);
    try {
      assert.equal((await api.request(SearchMessages, { query: 'one' }, user.token)).errors, undefined);
      assert.equal((await socket.execute(SearchMessages, { query: 'two' })).errors, undefined);
      for (const answer of [await api.request(SearchMessages, { query: 'three' }, user.token), await socket.execute(SearchMessages, { query: 'four' })]) {
        assert.equal(answer.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
      }
    } finally {
      await socket.dispose();
      await api.close();
    }
  });
});
