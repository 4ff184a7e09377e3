// "Real" storage for browser tests: an s3rver started by the test, not by the
// service, and with no CORS rules of ours, so what lets the browser upload is
// the service's own bucket-CORS merge. A proxy in front of it sees every
// request: it counts part PUTs per part number, can hold or fail chosen
// requests, and can answer the CORS API as community MinIO does.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, type CORSRule, GetBucketCorsCommand, PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import type { TestS3 } from '../helpers/services.js';

interface S3rver {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: http.Server;
}

export interface PutInfo {
  /** null for a single-request upload. */
  partNumber: number | null;
  url: URL;
}

export interface ExternalS3 extends TestS3 {
  /** Upload PUTs (originals, `uploads/<id>`) that reached s3rver, by part number (0: single-request uploads). */
  forwardedPuts: Map<number, number>;
  /** Upload PUTs the proxy saw (held, failed or forwarded), by part number. */
  seenPuts: Map<number, number>;
  /** Requests matching `which` wait until release() (or the client gives up). */
  hold(which: (put: PutInfo) => boolean): void;
  /** Lets held requests through and stops holding. */
  release(): void;
  /** The next request matching `which` is answered `status` by the proxy instead of storage. */
  failOnce(which: (put: PutInfo) => boolean, status: number, code: string): void;
  /** Answers GetBucketCors/PutBucketCors with this S3 error, as a storage without (or denying) the API does. */
  refuseCorsApi(code: 'NotImplemented' | 'AccessDenied' | null): void;
  rules(): Promise<CORSRule[]>;
}

const errorXml = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;

/** s3rver plus a counting proxy; the bucket exists with `operatorRules` as its CORS rules (if any). */
export async function startExternalS3(operatorRules: CORSRule[] = []): Promise<ExternalS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3-external-'));
  const S3rverClass = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rver;
  const s3 = new S3rverClass({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port: s3Port } = await s3.run();

  const forwardedPuts = new Map<number, number>();
  const seenPuts = new Map<number, number>();
  let holding: ((p: PutInfo) => boolean) | null = null;
  const held: (() => void)[] = [];
  const failures: { which: (p: PutInfo) => boolean; status: number; code: string }[] = [];
  let corsRefusal: string | null = null;
  const bump = (m: Map<number, number>, n: number) => m.set(n, (m.get(n) ?? 0) + 1);

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, put: PutInfo | null) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        if (put) bump(forwardedPuts, put.partNumber ?? 0);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const proxy = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (corsRefusal && url.searchParams.has('cors')) {
      res.writeHead(corsRefusal === 'AccessDenied' ? 403 : 501, { 'content-type': 'application/xml' }).end(errorXml(corsRefusal));
      return;
    }
    // Uploads of originals only (`uploads/<id>`): not bucket calls, not the worker's outputs.
    const isPut = req.method === 'PUT' && url.pathname.split('/')[2] === 'uploads';
    const put: PutInfo | null = isPut ? { partNumber: url.searchParams.has('partNumber') ? Number(url.searchParams.get('partNumber')) : null, url } : null;
    if (!put) return forward(req, res, null);
    bump(seenPuts, put.partNumber ?? 0);
    const failure = failures.findIndex((f) => f.which(put));
    if (failure >= 0) {
      const { status, code } = failures.splice(failure, 1)[0]!;
      req.resume();
      // With CORS headers, as storage answers errors: the page sees the status, not a network error.
      const origin = req.headers.origin;
      res.writeHead(status, { 'content-type': 'application/xml', ...(origin ? { 'access-control-allow-origin': origin } : {}) }).end(errorXml(code));
      return;
    }
    if (holding?.(put)) {
      // A page that reloaded has dropped the request: it must not reach storage half-sent.
      held.push(() => (req.socket.destroyed ? res.destroy() : forward(req, res, put)));
      return;
    }
    forward(req, res, put);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;

  const bucket = `ext-${randomBytes(4).toString('hex')}`;
  const client = new S3Client({
    endpoint: `http://127.0.0.1:${s3Port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  if (operatorRules.length) await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: operatorRules } }));

  let stopping: Promise<void> | undefined;
  return {
    // s3rver runs inside this process here: there is no child to name.
    pid: () => undefined,
    endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    bucket,
    directory,
    client,
    forwardedPuts,
    seenPuts,
    hold: (which) => void (holding = which),
    release: () => {
      holding = null;
      for (const go of held.splice(0)) go();
    },
    failOnce: (which, status, code) => void failures.push({ which, status, code }),
    refuseCorsApi: (code) => void (corsRefusal = code),
    async rules() {
      try {
        return (await client.send(new GetBucketCorsCommand({ Bucket: bucket }))).CORSRules ?? [];
      } catch {
        return [];
      }
    },
    listKeys: async () => [],
    stop: () =>
      (stopping ??= (async () => {
        client.destroy();
        proxy.closeAllConnections();
        await new Promise<void>((r) => proxy.close(() => r()));
        const closed = s3.close();
        s3.httpServer?.closeAllConnections();
        await closed;
        await rm(directory, { recursive: true, force: true });
      })()),
  };
}
