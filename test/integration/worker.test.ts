import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { Writable } from 'node:stream';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type FixtureKind, expectedSamples, makeAudio, sampleSlack } from '../helpers/fixtures.js';
import { decodeMono, inspectM4a } from '../helpers/inspect-audio.js';
import { ASSET, COMPLETE, METRICS_HEADERS, collect, leftoverTmp, metricValue, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { objectsOf } from '../helpers/waveform-reference.js';
import { waitFor } from '../helpers/processes.js';

const SUBSCRIBE = /* GraphQL */ `
  subscription($id: ID) { assetUpdated(id: $id) { id status progress duration url error { code } } }`;

type Event = { assetUpdated: { id: string; status: string; progress: number | null; duration: number | null; url: string | null; error: { code: string } | null } };
const ended = (e: Event) => e.assetUpdated.status === 'DONE' || e.assetUpdated.status === 'FAILED';

/** Uploads, subscribes, completes; resolves with the events up to DONE/FAILED. */
async function processFile(t: TestApp, file: string | Buffer, declared = {}): Promise<{ id: string; events: Event[] }> {
  const id = await prepareAndPut(t, file, { contentType: 'audio/mpeg', filename: 'upload.mp3', ...declared });
  const ws = t.ws(await t.token());
  const sub = collect<Event>(ws, SUBSCRIBE, { id }, ended, 60_000);
  await sub.ready;
  const c = await t.gql(COMPLETE, { id });
  assert.equal(c.errors, undefined, JSON.stringify(c.errors));
  // The INSERT's own event (AWAITING_UPLOAD) may reach this node's LISTEN
  // connection after the subscription started, on a loaded machine.
  const events = (await sub.done).filter((e, i, all) => !all.slice(0, i + 1).every((x) => x.assetUpdated.status === 'AWAITING_UPLOAD'));
  await ws.dispose();
  return { id, events };
}

/** Transcodes run as one process, or as a decoder piped into an encoder. */
const transcodes = (t: TestApp, processes: 1 | 2) => metricValue(t, `audio_transcodes_total{processes="${processes}"}`);
const transcodeCounts = async (t: TestApp) => ({ single: await transcodes(t, 1), pipelined: await transcodes(t, 2) });

/**
 * The transcode counts once `jobs` more attempts are in them: the worker counts
 * an attempt after it has published DONE, so a test reading right after the
 * event could see the count before it.
 */
async function transcodesAfter(t: TestApp, before: { single: number; pipelined: number }, jobs: number) {
  return waitFor(`${jobs} more transcodes counted`, async () => {
    const now = await transcodeCounts(t);
    return now.single + now.pipelined >= before.single + before.pipelined + jobs && now;
  }, 5_000);
}

async function bucketHoldsOnly(t: TestApp, id: string, expected: string[]) {
  assert.deepEqual(objectsOf(await t.s3.listKeys(), id), expected);
}

describe('media worker', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await startTestApp();
    dir = await mkdtemp(path.join(tmpdir(), 'audio-fixtures-'));
  });
  after(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const formats: [FixtureKind, number][] = [
    ['ogg-opus', 3],
    ['webm-opus', 3],
    ['mp3-cover', 3],
    ['m4a-moov-end', 3],
    ['wav', 2],
    ['flac', 2],
    ['m4a-6ch', 2],
    ['wav-8k-mono', 2],
    ['mp4-video', 2],
  ];
  for (const [kind, seconds] of formats) {
    it(`turns ${kind} into a clean AAC-LC mono 44.1 kHz faststart M4A with an exact duration`, async () => {
      const file = await makeAudio(dir, { kind, seconds });
      const before = await transcodeCounts(t);
      const { id, events } = await processFile(t, file);
      // Alone on the worker, but short: one process (a second ffmpeg's start-up costs a voice note more than it gains).
      assert.deepEqual(await transcodesAfter(t, before, 1), { ...before, single: before.single + 1 });
      const statuses = events.map((e) => e.assetUpdated.status);
      assert.equal(statuses[0], 'QUEUED', statuses.join());
      assert.equal(statuses.at(-1), 'DONE', JSON.stringify(events.at(-1)));
      assert.ok(statuses.slice(1, -1).every((s) => s === 'PROCESSING') && statuses.includes('PROCESSING'), statuses.join());
      const progress = events.map((e) => e.assetUpdated.progress).filter((p): p is number => p !== null);
      assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes down');

      const done = events.at(-1)!.assetUpdated;
      const expected = expectedSamples({ kind, seconds })! / 44100;
      const slack = sampleSlack({ kind, seconds }) / 44100;
      assert.ok(done.duration! >= expected - 0.05 && done.duration! <= expected + slack + 0.05, `duration ${done.duration} vs ${expected}`);

      const res = await fetch(done.url!);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'audio/mp4');
      const out = path.join(dir, `${kind}.out.m4a`);
      await writeFile(out, Buffer.from(await res.arrayBuffer()));
      const info = await inspectM4a(out);
      assert.equal(info.codec, 'aac');
      assert.equal(info.profile, 'LC');
      assert.equal(info.channels, 1);
      assert.equal(info.sampleRate, 44100);
      assert.ok(info.bitRate > 40_000 && info.bitRate < 80_000, `bit rate ${info.bitRate}`);
      assert.ok(info.boxes.indexOf('moov') < info.boxes.indexOf('mdat'), info.boxes.join());
      await bucketHoldsOnly(t, id, [`audio/${id}.m4a`, `waveform/${id}/`]);
      assert.deepEqual(await leftoverTmp(t), []);
    });
  }

  it('reports rising progress while a long file is processed, at most a few events a second, and stores its M4A in parts', async () => {
    // 24 minutes of MP3: several seconds of work, past the quiet first second,
    // and ~11.5 MB of AAC: over two 5 MiB parts, stored as a multipart upload.
    const seconds = 24 * 60;
    const file = await makeAudio(dir, { kind: 'mp3', seconds, fileName: 'long-progress.mp3' });
    const before = await transcodeCounts(t);
    const started = Date.now();
    const { id, events } = await processFile(t, file);
    const took = (Date.now() - started) / 1000;
    assert.equal(events.at(-1)!.assetUpdated.status, 'DONE', JSON.stringify(events.at(-1)));
    const progress = events
      .filter((e) => e.assetUpdated.status === 'PROCESSING' && e.assetUpdated.progress !== null)
      .map((e) => e.assetUpdated.progress!);
    // Never down; a value may repeat once when the result is recorded (still PROCESSING).
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]!, `rising: ${progress.join()}`);
    assert.ok(new Set(progress).size >= 3, `progress events: ${progress.join()}`);
    assert.ok(progress.every((p) => p > 0 && p < 1), progress.join());
    assert.ok(progress.length <= 5 * took + 1, `${progress.length} progress events in ${took.toFixed(1)} s`);
    assert.equal(events.at(-1)!.assetUpdated.progress, 1);

    const done = events.at(-1)!.assetUpdated;
    const res = await fetch(done.url!);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'audio/mp4');
    // Alone on the worker (2 CPUs or more): decoder and encoder ran as two processes.
    const split = availableParallelism() > 1 ? 1 : 0;
    assert.deepEqual(await transcodesAfter(t, before, 1), { single: before.single + 1 - split, pipelined: before.pipelined + split });
    const out = path.join(dir, 'long-progress.out.m4a');
    await writeFile(out, Buffer.from(await res.arrayBuffer()));
    const info = await inspectM4a(out);
    assert.ok(info.boxes.indexOf('moov') < info.boxes.indexOf('mdat'), info.boxes.join());
    assert.equal(info.durationSamples, Math.round(done.duration! * 44_100), 'the edit list holds exactly the decoded samples');
    assert.ok(Math.abs(info.durationSeconds - done.duration!) < 0.01, `container ${info.durationSeconds} s vs reported ${done.duration} s`);
    assert.ok(Math.abs(done.duration! - seconds) < 0.1, `duration ${done.duration}`);
    const decoded = await decodeMono(out);
    assert.ok(Math.abs(decoded.samples / 44_100 - seconds) < 0.1, `decodes to ${decoded.samples} samples`);
    await bucketHoldsOnly(t, id, [`audio/${id}.m4a`, `waveform/${id}/`]);
    assert.deepEqual(await leftoverTmp(t), []);
  });

  it('runs jobs that overlap as one ffmpeg process each, with the same output', async () => {
    const file = await makeAudio(dir, { kind: 'mp3', seconds: 20, fileName: 'overlap.mp3' });
    const before = await transcodeCounts(t);
    const runs = await Promise.all(Array.from({ length: 4 }, () => processFile(t, file)));
    const outputs = await Promise.all(runs.map(async ({ events }) => {
      const done = events.at(-1)!.assetUpdated;
      assert.equal(done.status, 'DONE', JSON.stringify(done));
      return Buffer.from(await (await fetch(done.url!)).arrayBuffer());
    }));
    // Short files never split, whether or not another job runs (unit/ffmpeg-runner.test.ts shows a
    // pipelined run writes the same M4A byte for byte).
    assert.deepEqual(await transcodesAfter(t, before, 4), { ...before, single: before.single + 4 });
    for (const output of outputs.slice(1)) assert.ok(output.equals(outputs[0]!), 'outputs differ between jobs');
  });

  it('exposes Prometheus metrics of the jobs it ran, the queue, sockets and operations', async () => {
    // The queue gauges come from pg-boss's queue counts, which its monitor refreshes about once a
    // second: a job that just finished may still count as queued for that long. Read until they settle.
    let text = '';
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    for (const deadline = Date.now() + 5_000; ;) {
      const res = await fetch(`${t.app.url}/metrics`, { headers: METRICS_HEADERS });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      text = await res.text();
      if (value(/^audio_queue_depth (\d+)/m) === 0 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(value(/^audio_jobs_total\{outcome="done",code=""\} (\d+)/m) >= formats.length, text.slice(0, 500));
    assert.ok(value(/^audio_processing_seconds_count (\d+)/m) >= formats.length);
    assert.ok(value(/^audio_processing_realtime_factor_count (\d+)/m) >= formats.length);
    // Short files are stored whole, after ffmpeg (the long one above was streamed).
    assert.ok(value(/^audio_transcodes_total\{processes="1"\} (\d+)/m) + value(/^audio_transcodes_total\{processes="2"\} (\d+)/m) >= formats.length);
    assert.equal(value(/^audio_queue_depth (\d+)/m), 0);
    assert.match(text, /^audio_queue_active_jobs /m);
    assert.match(text, /^audio_ws_connections \d+/m);
    assert.match(text, /^audio_ws_subscriptions \d+/m);
    assert.ok(value(/^audio_graphql_operation_seconds_count\{type="mutation",outcome="ok"\} (\d+)/m) > 0);
  });

  it('computes the waveform from the encoded signal: silence, full tone, silence, half tone', async () => {
    // 179200 samples: each segment is 44800 = 1400 envelope buckets of 32
    // samples, so bar edges fall on bucket edges and no snapping blurs them.
    const file = await makeAudio(dir, { kind: 'sequence', seconds: 179_200 / 44_100 });
    const { id } = await processFile(t, file, { contentType: 'audio/wav' });
    const four = await t.gql(ASSET, { id, bars: 4 });
    assert.equal(four.data.asset.duration, 179_200 / 44_100);
    assert.deepEqual(four.data.asset.waveform, [0, 100, 0, 50]);
    const many = (await t.gql(ASSET, { id, bars: 64 })).data.asset.waveform as number[];
    assert.equal(many.length, 64);
    assert.ok(many.slice(1, 15).every((v) => v === 0), many.join());
    assert.ok(many.slice(17, 31).every((v) => v >= 99), many.join());
    assert.ok(many.slice(33, 47).every((v) => v === 0), many.join());
    assert.ok(many.slice(49, 63).every((v) => v >= 48 && v <= 52), many.join());
    const dflt = await t.gql(`query($id: ID!) { asset(id: $id) { waveform } }`, { id });
    assert.equal(dflt.data.asset.waveform.length, 64);
    for (const bars of [0, 1025]) {
      const bad = await t.gql(ASSET, { id, bars });
      assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    }
  });

  describe('hostile and broken files, each named .mp3 and declared audio/mpeg', () => {
    let requests = 0;
    let trap: http.Server;
    let trapUrl = '';
    before(async () => {
      trap = http.createServer((_req, res) => {
        requests++;
        res.end('#EXTM3U\n');
      });
      await new Promise<void>((r) => trap.listen(0, '127.0.0.1', () => r()));
      trapUrl = `http://127.0.0.1:${(trap.address() as { port: number }).port}/x.mp3`;
    });
    after(() => new Promise<void>((r) => trap.close(() => r())));

    const pe = () => {
      const b = Buffer.alloc(1024);
      b.write('MZ', 0);
      b.writeUInt32LE(0x80, 0x3c);
      b.write('PE\0\0', 0x80, 'binary');
      return b;
    };
    const text = (s: string) => Buffer.from(s);
    const hostile: [string, () => Buffer | Promise<Buffer>, string][] = [
      ['a Windows executable', pe, 'REJECTED_FILE_TYPE'],
      ['an ELF binary', () => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(1000)]), 'REJECTED_FILE_TYPE'],
      ['a PHP script', () => text('<?php system($_GET["c"]); ?>\n'.repeat(20)), 'REJECTED_FILE_TYPE'],
      ['a shell script', () => text('#!/bin/sh\nrm -rf /\n'.repeat(20)), 'REJECTED_FILE_TYPE'],
      ['an HTML page', () => text('<!doctype html><html><script>alert(1)</script></html>'.repeat(10)), 'REJECTED_FILE_TYPE'],
      ['an SVG image', () => text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'.repeat(5)), 'REJECTED_FILE_TYPE'],
      ['an m3u8 playlist pointing at /etc/passwd', () => text('#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n'), 'REJECTED_FILE_TYPE'],
      ['an m3u8 playlist pointing at a loopback server', () => text(`#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n${trapUrl}\n#EXT-X-ENDLIST\n`), 'REJECTED_FILE_TYPE'],
      ['an ffconcat list', () => text(`ffconcat version 1.0\nfile ${trapUrl}\nfile /etc/passwd\n`), 'REJECTED_FILE_TYPE'],
      ['a PNG image', () => Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(500)]), 'REJECTED_FILE_TYPE'],
      ['a PDF', () => text('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n'.repeat(10)), 'REJECTED_FILE_TYPE'],
      ['a ZIP archive', () => Buffer.concat([Buffer.from('504b0304140000000800', 'hex'), Buffer.alloc(500)]), 'REJECTED_FILE_TYPE'],
    ];
    for (const [name, make, code] of hostile) {
      it(`rejects ${name} with ${code}, deletes it and leaves nothing behind`, async () => {
        const { id, events } = await processFile(t, await make());
        const last = events.at(-1)!.assetUpdated;
        assert.equal(last.status, 'FAILED');
        assert.equal(last.error?.code, code);
        await bucketHoldsOnly(t, id, []);
        assert.deepEqual(await leftoverTmp(t), []);
        assert.equal(requests, 0, 'nothing may reach the loopback server');
      });
    }

    it('counts rejected files by error code in the metrics', async () => {
      const text = await (await fetch(`${t.app.url}/metrics`, { headers: METRICS_HEADERS })).text();
      assert.match(text, /^audio_jobs_total\{outcome="failed",code="REJECTED_FILE_TYPE"\} [1-9]\d*/m);
    });

    const broken: [FixtureKind, string[]][] = [
      ['random-bytes', ['REJECTED_FILE_TYPE']],
      ['mp3-garbage', ['UNREADABLE_AUDIO', 'REJECTED_FILE_TYPE']],
      ['m4a-truncated', ['UNREADABLE_AUDIO']],
      ['mp4-video-only', ['UNREADABLE_AUDIO']],
    ];
    for (const [kind, codes] of broken) {
      it(`ends ${kind} FAILED ${codes.join(' or ')} with nothing left`, async () => {
        const file = await makeAudio(dir, { kind, seconds: 2 });
        const { id, events } = await processFile(t, file);
        const last = events.at(-1)!.assetUpdated;
        assert.equal(last.status, 'FAILED');
        assert.ok(codes.includes(last.error!.code), last.error!.code);
        await bucketHoldsOnly(t, id, []);
        assert.deepEqual(await leftoverTmp(t), []);
      });
    }
  });
});

describe('a finished job in the log', () => {
  it('logs where its time went: gate, media run and storing, in whole milliseconds (README, logs)', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) });
    const t = await startTestApp({ logger: pino({ level: 'info' }, sink) });
    const dir = await mkdtemp(path.join(tmpdir(), 'audio-fixtures-'));
    try {
      const { id, events } = await processFile(t, await makeAudio(dir, { kind: 'mp3', seconds: 3 }));
      assert.equal(events.at(-1)!.assetUpdated.status, 'DONE');
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'outputs stored' && l.assetId === id);
      assert.ok(logged, lines.join(''));
      for (const stage of ['checkMs', 'mediaMs', 'storeMs']) assert.ok(Number.isInteger(logged[stage]) && (logged[stage] as number) >= 0, `${stage}: ${logged[stage]}`);
      // A 3-s file's ffmpeg alone takes tens of milliseconds.
      assert.ok((logged.mediaMs as number) > 0, `mediaMs: ${logged.mediaMs}`);
    } finally {
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
