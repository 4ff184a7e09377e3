// The bench's S3 server, in its own process (as a real S3 would be), so the
// bench's clients and the object store do not share an event loop. Forked by
// infra.ts with an IPC channel: it reports its endpoint, and on request the
// list of S3 requests it served (method, path, user agent, time), which the
// profile section uses to count S3 calls per job.
import { createRequire } from 'node:module';
import type { IncomingMessage, Server } from 'node:http';

interface S3rver {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): void;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rver;

export interface S3RequestRecord {
  atMs: number;
  method: string;
  path: string;
  agent: string;
  range: boolean;
}

export type S3ChildMessage =
  | { type: 'ready'; endpoint: string }
  | { type: 'requests'; records: S3RequestRecord[] };

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket || !process.send) {
  console.error('usage: forked by bench/lib/infra.ts with <directory> <bucket>');
  process.exit(2);
}

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
server.on('error', () => {}); // NoSuchKey and friends are answers, not faults
const { port } = await server.run();

let recording = false;
let records: S3RequestRecord[] = [];
server.httpServer!.on('request', (req: IncomingMessage) => {
  if (!recording || records.length >= 200_000) return;
  const url = req.url ?? '';
  const q = url.indexOf('?');
  records.push({
    atMs: performance.timeOrigin + performance.now(),
    method: req.method ?? '?',
    path: q < 0 ? url : url.slice(0, q),
    agent: String(req.headers['user-agent'] ?? ''),
    range: req.headers.range !== undefined,
  });
});

process.on('message', (m: { type: string }) => {
  if (m.type === 'record') {
    recording = true;
    records = [];
  } else if (m.type === 'take') {
    recording = false;
    process.send!({ type: 'requests', records } satisfies S3ChildMessage);
    records = [];
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', endpoint: `http://127.0.0.1:${port}` } satisfies S3ChildMessage);
