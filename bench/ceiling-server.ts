import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * The benchmark's ceiling: a bare broadcast server doing the same traffic as Parley with no GraphQL,
 * no database and no pub/sub. A sendMessage, POSTed to /graphql or sent as a graphql-ws `subscribe`
 * whose query is a mutation, gets the next seq; one graphql-ws `next` message with the same fields
 * (and about the same size) as Parley's messageAdded payload is serialized once and written to every
 * subscribed socket, and the sender is answered. The WebSocket side speaks the subset of
 * graphql-transport-ws the bench clients use.
 */

const subscribers = new Set<WebSocket>();
let seq = 0;
const author = { id: globalIdLike('User'), username: 'bench_sender_0000' };

function globalIdLike(type: string): string {
  return Buffer.from(`${type}:${randomBytes(16).toString('hex')}`).toString('base64');
}

type SendOperation = { query?: string; variables?: { input?: { body?: string } } };

/** Numbers and broadcasts one message as sendMessage would; returns the sender's result. */
function deliver(operation: SendOperation) {
  const body = String(operation.variables?.input?.body ?? '');
  const message = { id: globalIdLike('Message'), seq: ++seq, body, createdAt: new Date().toISOString(), author };
  const wire = JSON.stringify({ id: '1', type: 'next', payload: { data: { messageAdded: message } } });
  for (const socket of subscribers) socket.send(wire);
  return { data: { sendMessage: { id: message.id, seq: message.seq } } };
}

const server = createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/graphql') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let operation: SendOperation;
    try {
      operation = JSON.parse(Buffer.concat(chunks).toString()) as SendOperation;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"errors":[{"message":"bad JSON"}]}');
      return;
    }
    const answer = JSON.stringify(deliver(operation));
    res.writeHead(200, { 'content-type': 'application/graphql-response+json; charset=utf-8' }).end(answer);
  });
});

const wss = new WebSocketServer({
  server,
  path: '/graphql',
  handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
});
wss.on('connection', (socket) => {
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { type: string; id?: string };
    switch (message.type) {
      case 'connection_init':
        socket.send('{"type":"connection_ack"}');
        return;
      case 'subscribe': {
        const operation = (message as { payload?: SendOperation }).payload ?? {};
        if (!operation.query?.startsWith('mutation')) {
          subscribers.add(socket);
          return;
        }
        socket.send(JSON.stringify({ id: message.id, type: 'next', payload: deliver(operation) }));
        socket.send(JSON.stringify({ id: message.id, type: 'complete' }));
        return;
      }
      case 'complete':
        subscribers.delete(socket);
        return;
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
    }
  });
  socket.on('close', () => subscribers.delete(socket));
});

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ level: 30, msg: 'ceiling listening', url: `http://127.0.0.1:${port}/graphql` }));
});

process.once('SIGTERM', () => {
  for (const socket of wss.clients) socket.terminate();
  wss.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
