#!/usr/bin/env node
// `npm run upload -- <file> [--bars N]`: the whole client flow of the contract
// from a terminal: prepare, PUT straight to storage (in parts when the service
// says so), subscribe, complete, print events as they arrive, then the result.
// Exit code 0 only when the asset ended DONE (1 FAILED, 2 anything else).
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Client } from 'graphql-ws';
import { Api } from './api.js';
import { type CliOptions, contentTypeFor, parseArgs, sparkline, USAGE } from './args.js';
import { Complete, Prepare, Result, Updated } from './operations.js';

type Status = 'AWAITING_UPLOAD' | 'QUEUED' | 'PROCESSING' | 'DONE' | 'FAILED';
type AssetError = { code: string; message: string } | null | undefined;
const FINAL = new Set<Status>(['DONE', 'FAILED']);
// A safety net: if the final event were lost (a socket hiccup), ask for it.
const POLL_MS = 3000;

async function run(o: CliOptions): Promise<number> {
  const size = (await stat(o.file)).size;
  const api = new Api(o.url, o.token ?? (await Api.devToken(o.url)));
  const input = { filename: basename(o.file), size, contentType: contentTypeFor(o.file) };
  const prepared = (await api.request(Prepare, { input })).prepareAudioUpload;
  const id = prepared.asset.id;
  const headers = Object.fromEntries(prepared.uploadHeaders.map((h) => [h.name, h.value]));
  console.log(`asset ${id}: uploading ${size} bytes (${input.contentType})`);
  const parts = prepared.multipart
    ? await putParts(o.file, prepared.multipart.partSize, prepared.multipart.parts, headers)
    : await putWhole(o.file, prepared.uploadUrl!, headers);

  // Subscribed (and acknowledged) before completing, so even QUEUED is seen.
  const socket = await api.socket();
  const watching = watch(api, socket, id);
  try {
    await api.request(Complete, { input: { id, parts } });
    if ((await watching.done) !== 'DONE') return 1;
  } finally {
    watching.stop();
    await socket.dispose();
  }
  const r = (await api.request(Result, { id, bars: o.bars })).asset;
  if (!r || r.status !== 'DONE') return 1;
  console.log(`url: ${r.url}`);
  console.log(`duration: ${r.duration?.toFixed(3)} s`);
  console.log(`waveform (${o.bars} bars): ${JSON.stringify(r.waveform)}`);
  console.log(`  ${sparkline(r.waveform ?? [])}`);
  return 0;
}

/** Prints each event as it arrives; `done` settles with DONE or FAILED. */
function watch(api: Api, socket: Client, id: string): { done: Promise<Status>; stop(): void } {
  let last: Status | null = null;
  let lastLine = '';
  let stopSub = () => {};
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<Status>((resolve, reject) => {
    const show = (status: Status, progress: number | null | undefined, error: AssetError) => {
      if (last && FINAL.has(last)) return;
      last = status;
      const pct = status === 'PROCESSING' && progress != null ? ` ${Math.round(progress * 100)}%` : '';
      const line = `${status}${pct}${error ? ` ${error.code}: ${error.message}` : ''}`;
      // Progress events come faster than whole percents change: print changes only.
      if (line !== lastLine) console.log((lastLine = line));
      if (FINAL.has(status)) resolve(status);
    };
    stopSub = api.subscribe(socket, Updated, { id }, ({ assetUpdated: a }) => show(a.status, a.progress, a.error), reject);
    timer = setInterval(() => {
      api.request(Result, { id, bars: 1 }).then(
        ({ asset: a }) => a && FINAL.has(a.status) && show(a.status, null, a.error),
        () => {},
      );
    }, POLL_MS);
  });
  return { done, stop: () => (clearInterval(timer), stopSub()) };
}

async function putWhole(file: string, url: string, headers: Record<string, string>): Promise<null> {
  const res = await fetch(url, { method: 'PUT', headers, body: await readFile(file) });
  if (!res.ok) throw new Error(`upload failed: HTTP ${res.status} ${await res.text()}`);
  console.log('uploaded');
  return null;
}

/** One PUT per part, read from disk one part at a time; the ETags complete the upload. */
async function putParts(
  file: string,
  partSize: number,
  parts: { partNumber: number; url: string }[],
  headers: Record<string, string>,
): Promise<{ partNumber: number; etag: string }[]> {
  const fh = await open(file);
  try {
    const done: { partNumber: number; etag: string }[] = [];
    for (const part of parts) {
      const buffer = Buffer.alloc(partSize);
      const { bytesRead } = await fh.read(buffer, 0, partSize, (part.partNumber - 1) * partSize);
      // uploadHeaders apply to every PUT, parts included, exactly as given (contract).
      const res = await fetch(part.url, { method: 'PUT', headers, body: buffer.subarray(0, bytesRead) });
      const etag = res.headers.get('etag');
      if (!res.ok || !etag) throw new Error(`part ${part.partNumber} failed: HTTP ${res.status}`);
      done.push({ partNumber: part.partNumber, etag });
      console.log(`uploaded part ${part.partNumber}/${parts.length}`);
    }
    return done;
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2), process.env);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  process.exitCode = await run(options).catch((e: Error) => (console.error(`error: ${e.message}`), 2));
}

await main();
