import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite names what it writes to assets/ by content hash, so a URL there never changes meaning. */
const hashedAssets = '/assets/';

/** The client talks to this origin only (HTTP and graphql-ws); nothing else may load or connect. */
const contentSecurityPolicy =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const notBuilt = `<!doctype html><meta charset="utf-8"><title>Parley</title>
<p>The web client is not built in this installation. Run <code>npm run build:web</code> (it needs the dev dependencies),
or open <a href="/graphql">GraphiQL at /graphql</a>.</p>`;

/**
 * Serves the built web client (WEB_DIR) at every path the API does not use: its files, and index.html for the
 * client's own routes when a browser navigates to them.
 */
export function createWebClientHandler(root: string) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return void res.end();
    }
    const file = fileFor(root, path);
    if (file && (await isFile(file))) return serveFile(req, res, file, path.startsWith(hashedAssets));
    const index = join(root, 'index.html');
    const isNavigation = extname(path) === '' && (req.headers.accept ?? '').includes('text/html');
    if (isNavigation || path === '/') {
      if (await isFile(index)) return serveFile(req, res, index, false);
      return send(res, 404, 'text/html; charset=utf-8', notBuilt);
    }
    send(res, 404, 'text/plain; charset=utf-8', 'Not found. The API is at /graphql.');
  };
}

/** The file a URL path names inside root, or null for anything that could step outside it or is hidden. */
function fileFor(root: string, path: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment.startsWith('.') || segment.includes('\\') || segment.includes('\0'))) return null;
  const file = join(root, ...(decoded.endsWith('/') ? [...segments, 'index.html'] : segments));
  return file.startsWith(root + sep) ? file : null;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

async function serveFile(req: IncomingMessage, res: ServerResponse, file: string, immutable: boolean): Promise<void> {
  const { size, mtimeMs } = await stat(file);
  const etag = `W/"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
  const type = contentTypes[extname(file)] ?? 'application/octet-stream';
  const headers: Record<string, string | number> = {
    'content-type': type,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    etag,
    'x-content-type-options': 'nosniff',
    ...(type.startsWith('text/html') ? { 'content-security-policy': contentSecurityPolicy, 'referrer-policy': 'no-referrer' } : {}),
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  res.writeHead(200, { ...headers, 'content-length': size });
  if (req.method === 'HEAD') return void res.end();
  // A client that goes away mid-file has nothing left to be told.
  await pipeline(createReadStream(file), res).catch(() => res.destroy());
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff' });
  res.end(body);
}
