// The embedded S3 server's own process (forked by s3.ts). s3rver can throw
// from stream callbacks, outside any request handler, which ends the process
// that hosts it; here that process is this one, and s3.ts restarts it.
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Server } from 'node:http';

/** What s3.ts sends as the first IPC message. */
export interface S3ChildOptions {
  host: string;
  port: number;
  directory: string;
  bucket: string;
  corsXml: string;
}

/** What this process answers: the bound port, or why it could not bind. */
export type S3ChildReply = { ready: true; port: number } | { ready: false; code: string; message: string };

// s3rver ships no types; this is the part we use.
interface S3rver {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error & { status?: number }) => void): void;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rver;

function send(reply: S3ChildReply): void {
  process.send?.(reply);
}

type PutMultipart = (bucket: string, uploadId: string, parts: { number: number }[]) => Promise<unknown>;

/**
 * s3rver 3.7.1 opens each named part as a stream with no error handler, so a
 * CompleteMultipartUpload naming a part it never received throws ENOENT out
 * of the event loop. Real S3 answers NoSuchUpload / InvalidPart; so do we,
 * by checking the upload's files before s3rver streams them.
 */
function answerMissingPartsLikeS3(requireS3rver: NodeJS.Require): void {
  const Store = requireS3rver('s3rver/lib/stores/filesystem') as {
    prototype: { putObjectMultipart: PutMultipart; getResourcePath(bucket: string, key: undefined, kind: string): string };
  };
  const S3Error = requireS3rver('s3rver/lib/models/error') as new (code: string, message: string) => Error;
  const original = Store.prototype.putObjectMultipart;
  Store.prototype.putObjectMultipart = async function (this: typeof Store.prototype, bucket, uploadId, parts) {
    const uploadDir = path.join(this.getResourcePath(bucket, undefined, 'uploads'), path.basename(uploadId));
    const exists = (file: string) => access(path.join(uploadDir, file)).then(() => true, () => false);
    if (!(await exists('key'))) {
      throw new S3Error('NoSuchUpload', 'The specified upload does not exist.');
    }
    for (const part of parts) {
      if (!(await exists(String(part.number)))) {
        throw new S3Error('InvalidPart', 'One or more of the specified parts could not be found.');
      }
    }
    return original.call(this, bucket, uploadId, parts);
  };
}

async function serve(o: S3ChildOptions): Promise<void> {
  const requireS3rver = createRequire(import.meta.url);
  answerMissingPartsLikeS3(requireS3rver);
  const S3rver = requireS3rver('s3rver') as S3rverClass;
  const server = new S3rver({
    address: o.host,
    port: o.port,
    silent: true, // also silences Koa's default error printing (it reads app.silent)
    directory: o.directory,
    configureBuckets: [{ name: o.bucket, configs: [Buffer.from(o.corsXml)] }],
  });
  // Koa emits every S3 error response (NoSuchKey...); only server faults are worth a line.
  server.on('error', (err) => {
    if ((err.status ?? 500) >= 500) process.stderr.write(`embedded S3: ${err.stack ?? err.message}\n`);
  });
  try {
    const { port } = await server.run();
    send({ ready: true, port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ ready: false, code: e.code ?? 'ERROR', message: e.message });
    process.exit(1);
  }
  const stop = async () => {
    const closed = server.close();
    // close() waits for keep-alive sockets (the SDK keeps some open): cut them.
    server.httpServer?.closeAllConnections();
    await closed;
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

// The parent holds the IPC channel; when it goes (even SIGKILLed), so do we.
process.on('disconnect', () => process.exit(0));
process.once('message', (o: S3ChildOptions) => void serve(o));
