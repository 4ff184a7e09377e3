import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import { freePort } from './free-port.js';

export interface EmbeddedS3Options {
  /** Where s3rver keeps buckets and objects (kept across restarts). */
  directory: string;
  /** Fixed port; by default a free one. */
  port?: number;
  host?: string;
  /** Created if missing, with the CORS rules below. */
  bucket: string;
  /** Browser origins allowed to PUT/GET objects directly; `*` is one wildcard. */
  corsOrigins?: string[];
  log?: (msg: string) => void;
}

export interface EmbeddedS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

// s3rver ships no types; this is the part we use.
interface S3rver {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error & { status?: number }) => void): void;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rver;

// s3rver's built-in account; it checks the access key (and expiry) but not signatures.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';

// The web app runs on another port than the S3 server, so uploads and playback
// are cross-origin. Only local origins by default: s3rver checks no signatures,
// so any web page allowed here could read and write the bucket.
const LOCAL_ORIGINS = ['http://localhost', 'http://localhost:*', 'http://127.0.0.1', 'http://127.0.0.1:*', 'http://[::1]', 'http://[::1]:*'];

/**
 * CORS for browser uploads and playback: PUT with Content-Type (presigned
 * upload, multipart parts), GET with Range (<audio> seeking, ffmpeg does not
 * need CORS), and ETag readable by scripts (CompleteMultipartUpload needs each
 * part's ETag). Same XML as a real bucket's PutBucketCors.
 */
export function corsXml(origins: string[]): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const tag = (name: string, values: string[]) => values.map((v) => `<${name}>${escape(v)}</${name}>`).join('');
  return (
    '<CORSConfiguration><CORSRule>' +
    tag('AllowedOrigin', origins) +
    tag('AllowedMethod', ['GET', 'HEAD', 'PUT']) +
    tag('AllowedHeader', ['*']) +
    tag('ExposeHeader', ['ETag', 'Content-Length', 'Content-Range', 'Accept-Ranges']) +
    '<MaxAgeSeconds>3000</MaxAgeSeconds>' +
    '</CORSRule></CORSConfiguration>'
  );
}

export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  // Loaded lazily: a deployment with real S3 never loads s3rver (and Koa, winston...).
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const configs = [Buffer.from(corsXml(opts.corsOrigins ?? LOCAL_ORIGINS))];

  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    const server = new S3rver({
      address: host,
      port,
      silent: true, // also silences Koa's default error printing (it reads app.silent)
      directory: opts.directory,
      configureBuckets: [{ name: opts.bucket, configs }],
    });
    // Koa emits every S3 error response (NoSuchKey...); only server faults are worth a line.
    server.on('error', (err) => {
      if ((err.status ?? 500) >= 500) log(`embedded S3: ${err.stack ?? err.message}`);
    });
    try {
      await server.run(); // close() only works after run()
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (opts.port === undefined && code === 'EADDRINUSE' && attempt < 3) continue;
      throw err;
    }
    log(`embedded S3 listening on ${host}:${port}, bucket ${opts.bucket}, data in ${opts.directory}`);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        const closed = server.close();
        // close() waits for keep-alive sockets (the SDK keeps some open): cut them.
        server.httpServer?.closeAllConnections();
        await closed;
      })());
    return { endpoint: `http://${urlHost(host)}:${port}`, accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, stop };
  }
}

/** A host clients can dial: wildcard listen addresses are reached over loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
