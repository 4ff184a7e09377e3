import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.js';
import type { S3ChildOptions, S3ChildReply } from './s3-child.js';

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
  /** The server process now, if one runs (it is replaced when it dies). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

// s3rver's built-in account; it checks the access key (and expiry) but not signatures.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
const STOP_TIMEOUT_MS = 5_000;
const RESTART_DELAY_MS = { first: 100, max: 5_000 };
const CHILD_URL = new URL('./s3-child.js', import.meta.url);

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

/**
 * s3rver in a supervised child process: s3rver can throw outside any request
 * handler (a CompleteMultipartUpload naming a part it never stored does), and
 * that must cost a restart of the storage, never the service. While the child
 * is down, storage calls fail (so /healthz answers 503); it comes back on the
 * same port with the same directory.
 */
export async function startEmbeddedS3(opts: EmbeddedS3Options): Promise<EmbeddedS3> {
  const log = opts.log ?? (() => {});
  const host = opts.host ?? '127.0.0.1';
  const base = { host, directory: opts.directory, bucket: opts.bucket, corsXml: corsXml(opts.corsOrigins ?? LOCAL_ORIGINS) };

  let first: { child: ChildProcess; port: number };
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(host));
    try {
      first = await spawnServer({ ...base, port }, log);
      break;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (opts.port === undefined && code === 'EADDRINUSE' && attempt < 3) continue;
      throw err;
    }
  }
  const port = first.port;
  log(`embedded S3 listening on ${host}:${port}, bucket ${opts.bucket}, data in ${opts.directory}`);
  const supervisor = supervise(first.child, () => spawnServer({ ...base, port }, log).then((s) => s.child), log);
  return {
    endpoint: `http://${urlHost(host)}:${port}`,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    pid: supervisor.pid,
    stop: supervisor.stop,
  };
}

/** Keeps one child running: restarts it (with growing delays) whenever it exits unasked. */
function supervise(initial: ChildProcess, respawn: () => Promise<ChildProcess>, log: (msg: string) => void) {
  let current: ChildProcess | undefined = initial;
  let stopped = false;
  let delay = RESTART_DELAY_MS.first;
  let timer: NodeJS.Timeout | undefined;

  const restart = async () => {
    timer = undefined;
    if (stopped) return;
    try {
      watch(await respawn());
      log('embedded S3 restarted');
    } catch (err) {
      log(`embedded S3 did not restart (${(err as Error).message}); retrying in ${delay} ms`);
      schedule();
    }
  };
  const schedule = () => {
    timer = setTimeout(() => void restart(), delay);
    timer.unref();
    delay = Math.min(delay * 2, RESTART_DELAY_MS.max);
  };
  const watch = (child: ChildProcess) => {
    current = child;
    const startedAt = Date.now();
    child.once('exit', (code, signal) => {
      if (current === child) current = undefined;
      if (stopped) return;
      if (Date.now() - startedAt > 30_000) delay = RESTART_DELAY_MS.first; // it was healthy: start over
      log(`embedded S3 process exited (${signal ?? `code ${code}`}); restarting`);
      schedule();
    });
  };
  watch(initial);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      if (current) await stopChild(current);
    })());
  return { pid: () => current?.pid, stop };
}

/** Forks s3-child.js and waits until it listens (or says why it cannot); its stderr goes to `log`. */
async function spawnServer(o: S3ChildOptions, log: (msg: string) => void): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(CHILD_URL, [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // Inherit nothing the parent was started with (--test, --inspect...).
    execArgv: [],
    serialization: 'json',
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`embedded S3 process exited before listening (${signal ?? `code ${code}`})`);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => log(text.trimEnd()));
  const replied = once(child, 'message').then(([reply]) => reply as S3ChildReply);
  child.send(o);
  try {
    const reply = await Promise.race([replied, exited]);
    if (!reply.ready) {
      throw Object.assign(new Error(`embedded S3 could not listen on ${o.host}:${o.port}: ${reply.message}`), { code: reply.code });
    }
    // Never keep the caller alive; the IPC channel still ends the child when the caller dies.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    (child.stderr as { unref?: () => void } | null)?.unref?.();
    return { child, port: reply.port };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    exited.catch(() => {});
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A host clients can dial: wildcard listen addresses are reached over loopback. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
