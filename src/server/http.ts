import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { fail } from '../errors.js';
import { downloadFile } from '../files/download.js';
import { createGraphiQLAssets } from './graphiql.js';
import { hasMetricsToken } from './metrics.js';
import { recordRequest, type RequestRecord } from './request-log.js';
import { createWebClientHandler } from './web-client.js';
import type { GraphQLHandler } from './yoga.js';

/**
 * Routes plain HTTP: health probes, metrics, GraphiQL's assets, attachments (/files/<id>), /graphql
 * through yoga with a bounded request body, and the web client everywhere else.
 */
export function createRequestListener(app: App, yoga: GraphQLHandler) {
  const graphiqlAssets = createGraphiQLAssets();
  const webClient = createWebClientHandler(app.config.webDir);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const request = recordRequest(app, req, res, path);
    try {
      if (path === '/health') return sendJson(res, 200, { status: 'ok' });
      if (path === '/ready') return await ready(app, res);
      if (path === '/metrics') return await metrics(app, req, res);
      if (path.startsWith('/graphiql/')) return await graphiqlAssets(req, res, path);
      if (path.startsWith('/files/')) return await downloadFile(app, req, res, request.clientAddress);
      if (path !== '/graphql') return await webClient(req, res, path);
      await forward(app, yoga, req, res, request);
    } catch (error) {
      request.log.error({ err: error, path }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    }
  };
}

async function ready(app: App, res: ServerResponse): Promise<void> {
  const check = (probe: Promise<void>) =>
    withTimeout(probe, 2000).then(
      () => 'ok',
      (error: unknown) => {
        app.logger.warn({ err: error }, 'readiness check failed');
        return 'unavailable';
      },
    );
  const [database, pubsub] = await Promise.all([check(app.db.ping()), check(app.bus.ping())]);
  const isReady = database === 'ok' && pubsub === 'ok';
  sendJson(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'unavailable', database, pubsub });
}

/** Prometheus metrics; 404 with METRICS=off, 401 without the METRICS_TOKEN when one is set. */
async function metrics(app: App, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { registry } = app.metrics;
  const { token } = app.config.metrics;
  if (!registry) return sendJson(res, 404, { error: 'Metrics are off (METRICS=off).' });
  if (token !== null && !hasMetricsToken(req.headers.authorization, token)) {
    res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, 401, { error: 'Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.' });
  }
  const text = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function forward(app: App, yoga: GraphQLHandler, req: IncomingMessage, res: ServerResponse, request: RequestRecord): Promise<void> {
  // A multipart request (an upload) may carry a file of up to MAX_FILE_BYTES besides its operation.
  const multipart = req.headers['content-type']?.startsWith('multipart/form-data') ?? false;
  const limit = app.config.limits.maxBodyBytes + (multipart ? app.config.files.maxFileBytes : 0);
  const body = await readBody(req, limit);
  if (!Buffer.isBuffer(body)) {
    const error = fail.payloadTooLarge(limit);
    // A body past the discard bound is not read to its end: the connection closes after the answer.
    if (!body.drained) res.setHeader('connection', 'close');
    return sendJson(res, 413, { errors: [error.toJSON()] });
  }
  const abort = new AbortController();
  // A client that goes away mid-request cancels it; after a complete response there is nothing to cancel.
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  const url = new URL(req.url ?? '/graphql', `http://${req.headers.host ?? 'localhost'}`);
  // A request that may be answered with server-sent events (a subscription) may hold its connection
  // open as a WebSocket does: it counts as one until it closes.
  if (req.headers.accept?.includes('text/event-stream') && !app.connections.admit(request.clientAddress, res)) {
    return sendJson(res, 429, { errors: [app.connections.refusal().toJSON()] });
  }
  const response = await yoga.fetch(
    url,
    { method: req.method, headers, body: body.length > 0 ? new Uint8Array(body) : undefined, signal: abort.signal },
    { clientAddress: request.clientAddress, log: request.log, notes: request.notes },
  );
  // Once a stop has begun, no connection is kept for another request.
  if (app.drain.draining) res.setHeader('connection', 'close');
  res.writeHead(response.status, Object.fromEntries(response.headers));
  if (response.body) {
    // Streams (server-sent events) are written as they come.
    const reader = response.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      // A client gone while the socket was full never drains it.
      if (!res.write(chunk.value)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
    }
  }
  res.end();
}

/**
 * A body over the limit is still read, and thrown away, up to this many times the limit: a client
 * that is still writing when the 413 is sent (Node's fetch, say) sees a cut connection instead of the
 * answer. Past the bound the client is not stopping, and the connection is closed.
 */
const DISCARD_FACTOR = 16;

/** The body, or, past `limit` bytes, whether the rest of it was read and dropped (drained) or left unread. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | { drained: boolean }> {
  const bound = limit * DISCARD_FACTOR;
  if (Number(req.headers['content-length'] ?? 0) > bound) return Promise.resolve({ drained: false });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size <= bound) chunks.length = 0;
      else {
        req.off('data', onData);
        req.pause();
        resolve({ drained: false });
      }
    };
    req.on('data', onData);
    req.on('end', () => resolve(size > limit ? { drained: true } : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
