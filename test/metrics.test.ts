import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { graphql } from './generated/gql.js';
import { createRoomWith, send } from './support/chat.js';
import { usingRedis } from './support/database.js';
import { scrape, value } from './support/metrics.js';
import { startTestServer, type TestServer } from './support/server.js';
import { createUser } from './support/users.js';
import { connectSocket, subscribeReady } from './support/ws.js';
import { waitFor } from './support/wait.js';

const MetricsMessages = graphql(`
  subscription MetricsMessages($roomId: ID!) {
    messageAdded(roomId: $roomId) {
      seq
    }
  }
`);

const MetricsMyEvents = graphql(`
  subscription MetricsMyEvents {
    myEvents {
      __typename
    }
  }
`);

const MetricsMe = graphql(`
  query MetricsMe {
    me {
      id
    }
  }
`);

describe('GET /metrics', () => {
  let api: TestServer;
  before(async () => {
    api = await startTestServer();
  });
  after(() => api.close());

  it('moves with traffic: sockets, subscriptions, operations, messages, deliveries, latency', async () => {
    const alice = await createUser(api, 'metrics');
    const bob = await createUser(api, 'metrics');
    const roomId = await createRoomWith(api, alice, [bob]);
    const before = await scrape(api);
    const { bus } = api.server.app;

    const sockets = await Promise.all([connectSocket(api.wsUrl, alice.token), connectSocket(api.wsUrl, bob.token)]);
    const received = [
      await subscribeReady(bus, sockets[0]!, MetricsMessages, { roomId }),
      await subscribeReady(bus, sockets[1]!, MetricsMessages, { roomId }),
      await subscribeReady(bus, sockets[1]!, MetricsMyEvents, {}, 2),
    ];
    for (let i = 0; i < 3; i++) await send(api, alice, roomId, `counted ${i}`);
    for (const subscription of received) for (let i = 0; i < 3; i++) await subscription.next();
    assert.equal((await api.request(MetricsMe, {})).data?.me, null);
    const invalid = await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ me { nope } }' }) });
    assert.ok(invalid.status < 500);

    const during = await scrape(api);
    assert.equal(value(during, 'parley_websocket_connections'), 2);
    assert.equal(value(during, 'parley_subscriptions{field="messageAdded"}'), 2);
    assert.equal(value(during, 'parley_subscriptions{field="myEvents"}'), 1);
    const operations = (labels: string) =>
      value(during, `parley_operations_total{${labels}}`) - value(before, `parley_operations_total{${labels}}`);
    assert.equal(operations('transport="http",type="mutation",field="sendMessage",outcome="OK"'), 3);
    assert.equal(operations('transport="ws",type="subscription",field="messageAdded",outcome="OK"'), 2);
    assert.equal(operations('transport="ws",type="subscription",field="myEvents",outcome="OK"'), 1);
    assert.equal(operations('transport="http",type="query",field="me",outcome="OK"'), 1);
    assert.equal(operations('transport="http",type="invalid",field="",outcome="BAD_USER_INPUT"'), 1);
    const delta = (name: string) => value(during, name) - value(before, name);
    assert.equal(delta('parley_messages_stored_total'), 3);
    // Three messages to two messageAdded subscribers and one myEvents.
    assert.equal(delta('parley_events_delivered_total'), 9);
    assert.equal(delta('parley_delivery_latency_seconds_count'), 9);
    assert.equal(value(during, 'parley_delivery_latency_seconds_bucket{le="+Inf"}'), value(during, 'parley_delivery_latency_seconds_count'));
    assert.ok(value(during, 'parley_delivery_latency_seconds_sum') >= 0);
    assert.equal(value(during, 'parley_database_up'), 1);
    assert.equal(during.has('parley_redis_up'), usingRedis);
    if (usingRedis) assert.equal(value(during, 'parley_redis_up'), 1);
    assert.ok(value(during, 'process_resident_memory_bytes') > 0);
    assert.ok(during.has('nodejs_eventloop_lag_seconds'));
    assert.ok(value(during, 'parley_http_requests_total{route="/metrics",status="200"}') >= 1);

    await Promise.all(sockets.map((socket) => socket.dispose()));
    await waitFor(async () => value(await scrape(api), 'parley_websocket_connections') === 0, 'sockets to close');
    const afterClose = await scrape(api);
    assert.equal(value(afterClose, 'parley_subscriptions{field="messageAdded"}'), 0);
    assert.equal(value(afterClose, 'parley_subscriptions{field="myEvents"}'), 0);
  });
});

describe('GET /metrics: abuse limits', () => {
  it('counts refusals by limit', async () => {
    const api = await startTestServer({ env: { SIGNUPS_PER_ADDRESS: '2/1h' } });
    try {
      const before = await scrape(api);
      await createUser(api, 'limited');
      await createUser(api, 'limited');
      await assert.rejects(createUser(api, 'limited'), /RATE_LIMITED/);
      const after = await scrape(api);
      const refusals = (limit: string) =>
        value(after, `parley_rate_limit_refusals_total{limit="${limit}"}`) - value(before, `parley_rate_limit_refusals_total{limit="${limit}"}`);
      assert.equal(refusals('signUp'), 1);
      assert.equal(refusals('sendMessage'), 0);
      assert.equal(
        value(after, 'parley_operations_total{transport="http",type="mutation",field="signUp",outcome="RATE_LIMITED"}'),
        1,
      );
    } finally {
      await api.close();
    }
  });
});

describe('GET /metrics settings', () => {
  it('asks for METRICS_TOKEN when one is set', async () => {
    const token = 'metrics-token-0123456789';
    const api = await startTestServer({ env: { METRICS_TOKEN: token } });
    try {
      const anonymous = await fetch(new URL('/metrics', api.url));
      assert.equal(anonymous.status, 401);
      const wrong = await fetch(new URL('/metrics', api.url), { headers: { authorization: 'Bearer not-the-token-at-all' } });
      assert.equal(wrong.status, 401);
      assert.ok((await scrape(api, { authorization: `Bearer ${token}` })).has('parley_database_up'));
    } finally {
      await api.close();
    }
  });

  it('is not served with METRICS=off', async () => {
    const api = await startTestServer({ env: { METRICS: 'off' } });
    try {
      assert.equal((await fetch(new URL('/metrics', api.url))).status, 404);
    } finally {
      await api.close();
    }
  });
});
