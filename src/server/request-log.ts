import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import type { Logger } from '../logger.js';
import { clientAddress } from './caller.js';
import { routeOf } from './metrics.js';
import type { RequestNotes } from './operation-records.js';
import { requestIdOf } from './request-id.js';

export interface RequestRecord {
  requestId: string;
  clientAddress: string;
  /** Logs with the request id. */
  log: Logger;
  notes: RequestNotes;
}

/** Probes poll every few seconds: their lines are debug, so that info shows what clients do. */
const probes = new Set(['/health', '/ready', '/metrics']);

/**
 * Gives an HTTP request its id (X-Request-Id, echoed in the response) and logger, counts it in
 * flight until its response is done, then writes its one log line (method, path, status, duration,
 * request id, operation) and its metrics. Never the query string or headers: they can hold secrets.
 */
export function recordRequest(app: App, req: IncomingMessage, res: ServerResponse, path: string): RequestRecord {
  const started = process.hrtime.bigint();
  const requestId = requestIdOf(req.headers['x-request-id']);
  res.setHeader('x-request-id', requestId);
  const record: RequestRecord = {
    requestId,
    clientAddress: clientAddress(req, app.config.trustedProxies),
    log: app.logger.child({ requestId }),
    notes: {},
  };
  const leave = app.drain.enter();
  res.once('close', () => {
    leave();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = routeOf(path);
    app.metrics.httpRequest(route, res.statusCode, seconds);
    const line = {
      requestId,
      method: req.method,
      path: route === 'other' ? path.slice(0, 200) : path,
      status: res.statusCode,
      durationMs: Math.round(seconds * 10_000) / 10,
      operation: record.notes.operation?.slice(0, 100),
      clientAddress: record.clientAddress,
      // The client went away before the response was complete.
      aborted: res.writableFinished ? undefined : true,
    };
    if (probes.has(path)) app.logger.debug(line, 'request');
    else app.logger.info(line, 'request');
  });
  return record;
}
