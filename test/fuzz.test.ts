import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
} from 'graphql';
import { globalId } from '../src/ids.js';
import { schema } from '../src/schema.js';
import { send } from './support/chat.js';
import { rawId, RoomsCreateRoom } from './support/rooms.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser, type TestUser } from './support/users.js';
import { rawSocket, type ProtocolFrame, type RawSocket } from './support/ws.js';

/**
 * Hostile input, generated: a fixed seed makes every run send the same few thousand requests and
 * frames, so a failure replays. Documents are built from the schema's own operations with their
 * arguments mutated (wrong types, huge strings, U+0000, unpaired surrogates, deep nesting, unknown and
 * malformed ids), next to garbage bodies, broken syntax and protocol frames a client should never send.
 * Whatever comes in, the server answers without a 5xx or an INTERNAL_SERVER_ERROR, and keeps answering.
 */
const SEED = 0x5eed_11;
const HTTP_REQUESTS = 2000;
const WS_FRAMES = 1500;
const IN_FLIGHT = 8;

/** mulberry32: small, fast and good enough to pick cases. */
function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const below = (n: number) => Math.floor(next() * n);
  return { chance: (p: number) => next() < p, below, pick: <T>(items: readonly T[]): T => items[below(items.length)]! };
}

type Random = ReturnType<typeof prng>;

/** Stands for JSON nested `depth` deep in a variables text: JSON.stringify of the value itself would overflow the stack. */
const deepMarker = (depth: number) => `\u0001deep:${depth}\u0001`;
const expandDeep = (text: string) =>
  text.replace(/"\\u0001deep:(\d+)\\u0001"/g, (_match, depth: string) => `${'{"a":['.repeat(Number(depth))}${']}'.repeat(Number(depth))}`);

interface Fixtures {
  ids: string[];
  strings: string[];
}

/** Values that are wrong for almost any argument. */
function hostile(random: Random, fixtures: Fixtures): unknown {
  return random.pick<() => unknown>([
    () => null,
    () => random.pick([0, -1, 1.5, 2 ** 31, -(2 ** 53), Number.MAX_SAFE_INTEGER]),
    () => random.pick([true, false]),
    () => [],
    () => ({}),
    () => ({ a: [1, 'x', null] }),
    () => 'x'.repeat(random.pick([0, 1, 10_000, 200_000])),
    () => `a\u0000b`,
    () => random.pick(['\ud800', 'a\udc00', '\udbff\ud800', '😀\ud83d']),
    () => deepMarker(random.pick([50, 1000, 20_000])),
    () => random.pick(fixtures.ids),
    () => random.pick(fixtures.strings),
  ])();
}

/** A value for an argument of type: mostly of the right shape, often hostile. */
function valueFor(random: Random, type: GraphQLInputType, fixtures: Fixtures, depth = 0): unknown {
  if (random.chance(0.2) || depth > 4) return hostile(random, fixtures);
  if (isNonNullType(type)) return valueFor(random, type.ofType, fixtures, depth + 1);
  if (isListType(type)) return Array.from({ length: random.below(4) }, () => valueFor(random, type.ofType, fixtures, depth + 1));
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((field) => isNonNullType(field.type) || random.chance(0.6));
    return Object.fromEntries(fields.map((field) => [field.name, valueFor(random, field.type, fixtures, depth + 1)]));
  }
  if (isEnumType(type)) return random.pick(type.getValues()).name;
  switch (type.name) {
    case 'ID':
      return random.pick(fixtures.ids);
    case 'String':
      return random.pick(fixtures.strings);
    case 'Int':
      return random.pick([0, 1, 20, 100, -5, 2 ** 31 - 1]);
    case 'Boolean':
      return random.chance(0.5);
    case 'DateTime':
      return random.pick(['2026-01-01T00:00:00Z', 'yesterday', 0]);
    default:
      // JSON
      return random.pick([{ kind: 'card', items: [1, 2, 3] }, { a: { b: { c: [] } } }, [1], 'text', { key: deepMarker(40) }]);
  }
}

/** A GraphQL literal of value (enum values bare when the type is an enum); deep markers become 300 levels of lists. */
function literal(value: unknown, type: GraphQLInputType): string {
  const named = getNamedType(type);
  if (typeof value === 'string' && value.startsWith('\u0001deep')) return `${'['.repeat(300)}${']'.repeat(300)}`;
  if (typeof value === 'string' && isEnumType(named) && /^[A-Z_]+$/.test(value)) return value;
  if (Array.isArray(value)) return `[${value.map((item) => literal(item, type)).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = isInputObjectType(named) ? named.getFields() : {};
    return `{${Object.entries(value).map(([key, item]) => `${/^[_A-Za-z]\w*$/.test(key) ? key : 'bad_key'}: ${literal(item, fields[key]?.type ?? type)}`).join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What a field returns, selected shallowly: leaves, and one level into objects. */
function selection(random: Random, field: GraphQLField<unknown, unknown>, depth = 0): string {
  const type = getNamedType(field.type);
  if (isLeafType(type)) return '';
  if (!isObjectType(type) || depth > 1) return ' { __typename }';
  const fields = Object.values(type.getFields()).filter((child) => child.args.every((arg) => !isNonNullType(arg.type)));
  const chosen = fields.filter(() => random.chance(0.4)).slice(0, 4);
  return ` { __typename ${chosen.map((child) => `${child.name}${selection(random, child, depth + 1)}`).join(' ')} }`;
}

function typeText(type: GraphQLInputType): string {
  return String(type);
}

/** One operation of the schema with generated (and mutated) arguments, inline or as variables. */
function operation(random: Random, fixtures: Fixtures): { query: string; variablesText: string } {
  const root = random.pick([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) as GraphQLObjectType;
  const field = random.pick(Object.values(root.getFields()));
  const keyword = root === schema.getQueryType() ? 'query' : root === schema.getMutationType() ? 'mutation' : 'subscription';
  const useVariables = random.chance(0.6);
  const definitions: string[] = [];
  const variables: Record<string, unknown> = {};
  const args = field.args
    .filter((arg: GraphQLArgument) => isNonNullType(arg.type) || random.chance(0.5))
    .map((arg, index) => {
      const value = valueFor(random, arg.type, fixtures);
      if (useVariables) {
        const name = `v${index}`;
        // Sometimes declared with another type than the argument's.
        definitions.push(`$${name}: ${random.chance(0.1) ? random.pick(['String', 'Int', '[ID!]!', 'JSON']) : typeText(arg.type)}`);
        variables[name] = value;
        return `${arg.name}: $${name}`;
      }
      return `${arg.name}: ${literal(value, arg.type)}`;
    });
  if (random.chance(0.05)) args.push(`unknownArgument: 1`);
  const query = `${keyword} Fuzz${definitions.length ? `(${definitions.join(', ')})` : ''} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${selection(random, field)} }`;
  return { query, variablesText: expandDeep(JSON.stringify(variables)) };
}

/** query with a few characters removed, doubled or replaced by brackets. */
function broken(random: Random, query: string): string {
  const chars = [...query];
  for (let edits = 1 + random.below(4); edits > 0; edits--) {
    const at = random.below(chars.length);
    chars.splice(at, random.below(2), random.pick(['{', '}', '(', ')', '"', '$', '', '\\', '\u0000', ':', '...', '@skip']));
  }
  return chars.join('');
}

interface HttpCase {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Query string for GET, body for POST. */
  payload: string;
}

function httpCase(random: Random, fixtures: Fixtures, tokens: string[]): HttpCase {
  const { query, variablesText } = operation(random, fixtures);
  const auth: Record<string, string> = random.chance(0.8) ? { authorization: `Bearer ${random.pick(tokens)}` } : {};
  // Never text/event-stream: a well-formed subscription would stream until the test ends.
  const accept = { accept: random.pick(['application/graphql-response+json', 'application/json', '*/*', 'text/html']) };
  const json: Record<string, string> = { 'content-type': 'application/json', ...accept, ...auth };
  const kind = random.below(20);
  if (kind < 12) return { method: 'POST', headers: json, payload: `{"query":${JSON.stringify(query)},"variables":${variablesText}}` };
  if (kind === 12) return { method: 'POST', headers: json, payload: `{"query":${JSON.stringify(broken(random, query))},"variables":${variablesText}}` };
  if (kind === 13) return { method: 'POST', headers: json, payload: broken(random, `{"query":${JSON.stringify(query)},"variables":${variablesText}}`) };
  if (kind === 14) {
    const field = random.pick(['query', 'variables', 'operationName', 'extensions']);
    return { method: 'POST', headers: json, payload: JSON.stringify({ query, [field]: hostile(random, fixtures) }) };
  }
  if (kind === 15) return { method: 'POST', headers: json, payload: random.pick(['', 'null', '[]', '[{}]', '"query"', '{}', '{"query":""}', `${'['.repeat(20_000)}${']'.repeat(20_000)}`]) };
  if (kind === 16) {
    const params = new URLSearchParams({ query: random.chance(0.5) ? query : broken(random, query), variables: random.chance(0.5) ? variablesText : '{"a":' });
    return { method: 'GET', headers: { ...accept, ...auth }, payload: params.toString() };
  }
  if (kind === 17) {
    return { method: 'POST', headers: { ...auth, 'content-type': random.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/graphql', 'multipart/form-data; boundary=x']) }, payload: query };
  }
  if (kind === 18) return { method: 'POST', headers: { ...json, authorization: random.pick(['Bearer', 'Bearer x.y.z', 'Basic abc', `Bearer ${'a'.repeat(5000)}`]) }, payload: JSON.stringify({ query }) };
  return { method: 'POST', headers: json, payload: JSON.stringify({ query: `query { ${'me { id '.repeat(30)}${'}'.repeat(30)} }` }) };
}

/** A subscribe message of a generated operation (sometimes with a token of its own in extensions.headers). */
function operationFrame(random: Random, fixtures: Fixtures, id: string): string {
  const { query, variablesText } = operation(random, fixtures);
  const extensions = random.chance(0.1) ? ',"extensions":{"headers":{"Authorization":"Bearer garbage"}}' : '';
  return `{"id":${JSON.stringify(id)},"type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":${variablesText}${extensions}}}`;
}

/** A message graphql-ws never sends, or one out of turn: the protocol closes the socket for most of them. */
function chaosFrame(random: Random, fixtures: Fixtures, ids: string[]): string {
  const id = random.chance(0.5) && ids.length ? random.pick(ids) : `chaos${random.below(1_000_000)}`;
  ids.push(id);
  const kind = random.below(8);
  // A duplicate id, or an operation on a socket that never sent connection_init.
  if (kind < 2) return operationFrame(random, fixtures, id);
  if (kind === 2) return JSON.stringify({ id, type: 'subscribe', payload: { query: broken(random, operation(random, fixtures).query) } });
  if (kind === 3) return JSON.stringify({ id, type: 'complete' });
  if (kind === 4) return JSON.stringify({ type: random.pick(['ping', 'pong']), payload: hostile(random, fixtures) });
  if (kind === 5) return JSON.stringify({ id: hostile(random, fixtures), type: 'subscribe', payload: hostile(random, fixtures) });
  if (kind === 6) return JSON.stringify({ type: random.pick(['connection_init', 'next', 'error', 'unknown', 5, null]), payload: hostile(random, fixtures) });
  return random.pick(['', 'null', '{', '[]', '"subscribe"', '{"type":"subscribe"}', '\u0000', `${'['.repeat(20_000)}${']'.repeat(20_000)}`]);
}

/** Every error code a graphql-ws message carries. */
function frameCodes(frame: ProtocolFrame): unknown[] {
  const payload = frame.payload as { errors?: { extensions?: { code?: unknown } }[] } | { extensions?: { code?: unknown } }[] | undefined;
  const errors = Array.isArray(payload) ? payload : (payload?.errors ?? []);
  return errors.map((error) => error.extensions?.code);
}

describe('fuzzed requests and frames', () => {
  let api: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let fixtures: Fixtures;

  before(async () => {
    // RATE_LIMITS=off: thousands of requests from one address in seconds, which the abuse limits would
    // rightly refuse (429s, no 5xx, but refused before they reach the code under test).
    api = await startTestServer({ env: { RATE_LIMITS: 'off' } });
    alice = await createUser(api, 'alice');
    bob = await createUser(api, 'bob');
    const roomId = (await api.ok(RoomsCreateRoom, { input: { name: 'fuzz', visibility: 'PUBLIC', memberIds: [bob.id] } }, alice.token)).createRoom.id;
    const messageId = (await send(api, alice, roomId, 'fuzz me')).id;
    const unknown = '01900000-0000-7000-8000-000000000000';
    fixtures = {
      ids: [
        roomId,
        messageId,
        alice.id,
        bob.id,
        globalId('Room', unknown),
        globalId('User', unknown),
        globalId('Message', unknown),
        globalId('Room', rawId(messageId)),
        Buffer.from('Room:\u0000').toString('base64'),
        Buffer.from('Nope:1').toString('base64'),
        Buffer.from('GPC:S:\u0000').toString('base64'),
        Buffer.from('GPC:T:["S:a","N:1"]').toString('base64'),
        '',
        '!!!',
        'x'.repeat(300),
      ],
      strings: ['hello', '', '   ', 'fuzz', alice.username, '👍', 'a'.repeat(5000), 'line\nbreak', 'a\u0000', 'a\ud800b', ':tada:', '%_\\'],
    };
  });

  after(async () => {
    await api?.close();
  });

  it(`answers ${HTTP_REQUESTS} generated HTTP requests without a 5xx or INTERNAL_SERVER_ERROR`, async () => {
    const random = prng(SEED);
    const tokens = [alice.token, bob.token, 'not-a-token'];
    const cases = Array.from({ length: HTTP_REQUESTS }, () => httpCase(random, fixtures, tokens));
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let index = next++; index < cases.length; index = next++) {
        const { method, headers, payload } = cases[index]!;
        const response = await fetch(method === 'GET' ? `${api.url}?${payload}` : api.url, {
          method,
          headers,
          ...(method === 'POST' ? { body: payload } : {}),
        });
        // A subscription that starts streams (server-sent events) until it ends: its status is its answer.
        const streaming = /event-stream|multipart/.test(response.headers.get('content-type') ?? '');
        const text = streaming ? (await response.body?.cancel(), '') : await response.text();
        if (response.status >= 500 || text.includes('INTERNAL_SERVER_ERROR')) {
          failures.push(`#${index} ${response.status} ${method} ${payload.slice(0, 300)} → ${text.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    assert.deepEqual(failures, []);
  });

  it(`answers ${WS_FRAMES} generated graphql-ws frames without an internal error`, async () => {
    const random = prng(SEED + 1);
    const failures: string[] = [];
    const sockets: RawSocket[] = [];
    const open = async (options: Parameters<typeof rawSocket>[1]) => {
      const socket = await rawSocket(api.wsUrl, options);
      sockets.push(socket);
      return socket;
    };
    /** Waits until the server has handled everything socket sent so far (its pong comes after), or closed it. */
    const settle = async (socket: RawSocket) => {
      if (socket.socket.readyState !== socket.socket.OPEN) return;
      const pongs = socket.received.filter((message) => message.type === 'pong').length;
      socket.socket.send(JSON.stringify({ type: 'ping' }));
      await socket.until((messages) => messages.filter((message) => message.type === 'pong').length > pongs);
    };
    // Operations go to well-behaved sockets (signed in or anonymous), one id each; the rest to short-lived
    // sockets that break the protocol, some of them before connection_init.
    let operations = await open({ token: alice.token });
    let chaos = await open({ init: false });
    let chaosIds: string[] = [];
    for (let sent = 0; sent < WS_FRAMES; sent++) {
      if (random.chance(0.7)) {
        if (operations.socket.readyState !== operations.socket.OPEN || random.chance(0.02)) {
          operations = await open({ token: random.pick([alice.token, bob.token, undefined]) });
        }
        operations.socket.send(operationFrame(random, fixtures, `op${sent}`));
        if (random.chance(0.1)) await settle(operations);
      } else {
        if (chaos.socket.readyState !== chaos.socket.OPEN || random.chance(0.1)) {
          await settle(chaos);
          chaos = await open(random.chance(0.5) ? { init: false } : { token: random.pick([alice.token, undefined]) });
          chaosIds = [];
        }
        const frame = chaosFrame(random, fixtures, chaosIds);
        chaos.socket.send(random.chance(0.1) ? Buffer.from(frame) : frame);
      }
    }
    for (const socket of sockets) {
      await settle(socket);
      if (socket.socket.readyState === socket.socket.OPEN) socket.socket.close();
      const code = await socket.closed;
      // 4500 is graphql-ws's "internal server error", 1011 the WebSocket one.
      if (code === 4500 || code === 1011) failures.push(`closed with ${code}`);
      for (const frame of socket.received) {
        if (frameCodes(frame).some((code) => code === 'INTERNAL_SERVER_ERROR')) failures.push(JSON.stringify(frame).slice(0, 300));
      }
    }
    assert.deepEqual(failures, []);
  });

  it('still answers afterwards, over HTTP and graphql-ws', async () => {
    const response = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { data: { __typename: 'Query' } });
    // A fresh user: the fuzzed operations may have ended alice's session (logOut, logOutEverywhere).
    const socket = await rawSocket(api.wsUrl, { token: (await createUser(api, 'after')).token });
    socket.socket.send(JSON.stringify({ id: 'alive', type: 'subscribe', payload: { query: '{ __typename }' } }));
    const [result] = (await socket.until((messages) => messages.some((message) => message.id === 'alive'))).filter((message) => message.id === 'alive');
    assert.deepEqual(result?.payload, { data: { __typename: 'Query' } });
    socket.socket.close();
    await socket.closed;
  });
});
