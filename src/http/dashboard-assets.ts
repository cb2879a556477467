// The built dashboard (dist/dashboard, made by npm run build from dashboard/): its page, one
// script and one stylesheet (and their source maps), read once and served from memory under a
// path named after their content, compressed for the browsers that ask.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { packageRoot } from '../db/sql-text.ts';
import type { Caller } from './auth.ts';

export const assetsPrefix = '/assets/';
const builtDir = `${packageRoot}dist/dashboard/`;
const types: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
// Content-named, so a browser may keep them for good: other content (an upgrade) is another URL.
const forever = 'public, max-age=31536000, immutable';

interface Asset {
  type: string;
  body: Buffer;
  /** Compressed bodies by encoding, made on first request. */
  encoded: Map<'br' | 'gzip', Buffer>;
}

/** Serves the built assets; returns the page, its asset paths pointing at them. */
export function builtDashboard(app: FastifyInstance): string {
  if (!existsSync(`${builtDir}index.html`)) {
    throw new Error(`the dashboard is not built (no ${builtDir}index.html): run npm run build`);
  }
  const files = readdirSync(builtDir).filter((file) => file !== 'index.html');
  const assets = new Map<string, Asset>();
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    const body = readFileSync(builtDir + file);
    hash.update(file).update(body);
    assets.set(file, {
      type: types[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream',
      body,
      encoded: new Map(),
    });
  }
  const prefix = `${assetsPrefix}${hash.digest('hex').slice(0, 12)}/`;
  app.get<{ Params: { file: string } }>(`${prefix}:file`, { schema: { hide: true } }, (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('no such asset');
    return sendAsset(asset, request, reply);
  });
  return readFileSync(`${builtDir}index.html`, 'utf8').replaceAll(`"${assetsPrefix}`, `"${prefix}`);
}

function sendAsset(asset: Asset, request: FastifyRequest, reply: FastifyReply) {
  reply.type(asset.type).header('cache-control', forever).header('x-content-type-options', 'nosniff');
  reply.header('vary', 'accept-encoding');
  const accepted = acceptedEncodings(request.headers['accept-encoding']);
  const encoding = accepted.has('br') ? 'br' : accepted.has('gzip') ? 'gzip' : null;
  if (!encoding) return reply.send(asset.body);
  let body = asset.encoded.get(encoding);
  if (!body) {
    body =
      encoding === 'br'
        ? brotliCompressSync(asset.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })
        : gzipSync(asset.body, { level: 9 });
    asset.encoded.set(encoding, body);
  }
  return reply.header('content-encoding', encoding).send(body);
}

/** The codings an Accept-Encoding allows: listed without `q=0` (RFC 9110 12.5.3). */
function acceptedEncodings(header: string | undefined): Set<string> {
  const allowed = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [coding = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    if (coding && !(q && Number(q.slice(2)) === 0)) allowed.add(coding);
  }
  return allowed;
}

/**
 * The page, saying who is signed in (as data: the app reads it instead of asking) and, for
 * them, preloading the API path the page asks for first.
 */
export function pageHtml(html: string, caller: Caller | undefined, preload: string | undefined): string {
  if (!caller) return html;
  const link = preload ? `<link rel="preload" href="${escapeAttribute(preload)}" as="fetch" crossorigin />` : '';
  return html
    .replace('</head>', `${link}</head>`)
    .replace('<body>', `<body data-token="${escapeAttribute(caller.token)}" data-role="${caller.role}">`);
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeAttribute = (text: string) => text.replace(/[&<>"']/g, (char) => escapes[char]!);
