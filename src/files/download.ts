import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { ParleyError } from '../errors.js';
import { identifyCaller } from '../server/caller.js';
import { downloadableAttachment } from './service.js';
import { checkFileUrl } from './urls.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * GET /files/<id>: with a signed URL (Attachment.url) for anyone holding it until it expires, or
 * with "Authorization: Bearer <token>" for members of the file's room. Missing and not yours are
 * both 404, so no one learns which files exist; a genuine URL past its expiry is 403.
 */
export async function downloadFile(app: App, req: IncomingMessage, res: ServerResponse, clientAddress: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return sendText(res, 405, 'Use GET.');
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const id = url.pathname.slice('/files/'.length);
  if (!UUID.test(id)) return notFound(res);
  let viewerId: string | null = null;
  if (url.searchParams.has('signature')) {
    const check = checkFileUrl(app.config.jwtSecret, id, url.searchParams);
    if (check === 'expired') return sendText(res, 403, 'This link has expired: ask for the message again for a fresh one.');
    if (check === 'invalid') return notFound(res);
  } else {
    try {
      const { viewer } = await identifyCaller(app.tokens, clientAddress, { authorization: req.headers.authorization ?? null });
      if (!viewer) return notFound(res);
      viewerId = viewer.id;
    } catch (error) {
      if (error instanceof ParleyError) return sendText(res, 401, error.message);
      throw error;
    }
  }
  const attachment = await downloadableAttachment(app, id, viewerId);
  const bytes = attachment && (await app.files.get(attachment.id));
  if (!attachment || !bytes) return notFound(res);
  const disposition = attachment.contentType.startsWith('image/') ? 'inline' : 'attachment';
  res.writeHead(200, {
    'content-type': attachment.contentType,
    'content-length': bytes.length,
    'content-disposition': `${disposition}; filename*=UTF-8''${encodeRFC5987(attachment.name)}`,
    'x-content-type-options': 'nosniff',
    'cache-control': 'private, max-age=0',
    // Nothing in a file runs as this origin, should a browser render it anyway.
    'content-security-policy': "default-src 'none'; sandbox",
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** RFC 5987 / 8187 encoding of a filename* value. */
const encodeRFC5987 = (name: string) =>
  encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const notFound = (res: ServerResponse) => sendText(res, 404, 'No such file.');

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
