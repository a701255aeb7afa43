/**
 * The studio's HTTP plumbing on node:http: bounded request bodies, JSON and binary answers, the static files of the
 * page (a fixed list read at start, so no request can name another file), and "latest request wins" per channel.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { RequestError } from './requests.js';

/** Reads a request body of at most `limit` bytes; 413 (and the connection closed) beyond it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new RequestError(`the request body is larger than ${limit} bytes`, 413));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new RequestError(`the request body is larger than ${limit} bytes`, 413));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'",
  'Cache-Control': 'no-store',
};

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendBytes(res: ServerResponse, bytes: Uint8Array, { type, headers = {} }: { type: string; headers?: Record<string, string> }): void {
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': bytes.byteLength, ...headers });
  res.end(bytes);
}

/** Answers an error: a RequestError with its status, a library error about the settings with 400. */
export function sendError(res: ServerResponse, e: unknown, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = e instanceof RequestError ? e.status : 400;
  if (close) res.setHeader('Connection', 'close');
  sendJson(res, status, { error: (e as Error).message ?? String(e) });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The page's files, read once: URL path ('/app.js') → type and bytes. Only plain files of known types directly in `dir`. */
export function loadStaticFiles(dir: string): Map<string, { type: string; bytes: Buffer }> {
  const files = new Map<string, { type: string; bytes: Buffer }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (type && statSync(path).isFile()) files.set(`/${name}`, { type, bytes: readFileSync(path) });
  }
  const index = files.get('/index.html');
  if (!index) throw new Error(`${dir}: the studio page (index.html) is missing`);
  files.set('/', index);
  return files;
}

/** Serves a static file or answers 404; the path is looked up, never joined to a directory. */
export function serveStatic(files: Map<string, { type: string; bytes: Buffer }>, path: string, res: ServerResponse): void {
  const f = files.get(path);
  if (!f) throw new RequestError(`no such page: ${path.slice(0, 200)}`, 404);
  sendBytes(res, f.bytes, { type: f.type, headers: { 'Cache-Control': 'no-cache' } });
}

/**
 * "Latest request wins" per channel (the page's main view, the gallery, …): `claim` returns a ticket; after yielding
 * once to the event loop (so that requests already received are seen), `stale` tells whether a newer request on the
 * same channel arrived or the client went away. A stale request is answered 409 and never rendered.
 */
export class LatestWins {
  private readonly latest = new Map<string, number>();
  private next = 0;

  claim(channel: string): number {
    const t = ++this.next;
    this.latest.set(channel, t);
    return t;
  }

  async stale(channel: string, ticket: number, req: IncomingMessage): Promise<boolean> {
    await new Promise((r) => setImmediate(r));
    return this.latest.get(channel) !== ticket || !req.socket || req.socket.destroyed;
  }
}
