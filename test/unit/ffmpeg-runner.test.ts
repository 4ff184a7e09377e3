import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPipelinedTranscodeArgs, buildTranscodeArgs } from '../../src/media/ffmpeg-args.js';
import { writeFaststartM4a } from '../../src/media/m4a-file.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import {
  primaryEnd, runFfmpeg, wrapCommand, type RunFfmpegOptions,
} from '../../src/media/ffmpeg-runner.js';
import { parseDurationLine, redactUrls } from '../../src/media/ffmpeg-stderr.js';
import { isFaststart, topLevelBoxes } from '../../src/media/mp4-boxes.js';
import { expectedSamples, makeAudio, sampleSlack, type FixtureSpec } from '../helpers/fixtures.js';
import { inspectM4a } from '../helpers/inspect-audio.js';

const SIGNATURE = 'X-Amz-Signature=0123456789abcdef';

/** Serves files from `dir` like S3 does (Range -> 206, past the end -> 416); /hang/* sends headers only. */
function startStorage(dir: string): Promise<{ server: Server; base: string; ranges: string[] }> {
  const ranges: string[] = [];
  const server = createServer(async (req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    if (name.startsWith('hang/')) {
      res.writeHead(200, { 'content-length': '1000000', 'accept-ranges': 'bytes' });
      res.flushHeaders();
      return; // and never a byte of body
    }
    const body = await readFile(join(dir, name)).catch(() => null);
    if (body === null) return void res.writeHead(404).end();
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range === null) return void res.writeHead(200, { 'content-length': body.length }).end(body);
    ranges.push(req.headers.range!);
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) : body.length - 1, body.length - 1);
    if (start >= body.length) {
      return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    }
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(body.subarray(start, end + 1));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, base: `http://127.0.0.1:${port}`, ranges });
    });
  });
}

/** Members of a process group that are still running (zombies excluded: nothing may reap them here). */
async function liveMembers(pgid: number): Promise<number[]> {
  const live: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const statLine = await readFile(`/proc/${entry}/stat`, 'latin1').catch(() => '');
    const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
  }
  return live;
}

const staticBuild = (): boolean => /static/.test(process.env.FFMPEG_PATH ?? '') || process.env.FFMPEG_PATH?.includes('@ffmpeg-installer') === true;

describe('runFfmpeg', () => {
  let dir: string;
  let ffmpeg: string;
  let storage: Awaited<ReturnType<typeof startStorage>>;
  const specs = {
    // Long enough that reaching the trailing moov takes a Range request.
    moovAtEnd: { kind: 'm4a-moov-end', seconds: 8 },
    mp3Cover: { kind: 'mp3-cover', seconds: 1.5 },
    long: { kind: 'wav', seconds: 30, frequencyHz: 220 },
  } satisfies Record<string, FixtureSpec>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ffmpeg-runner-'));
    ffmpeg = (await resolveFfmpeg(process.env.FFMPEG_PATH)).path;
    await Promise.all(Object.values(specs).map((spec) => makeAudio(dir, spec)));
    storage = await startStorage(dir);
  });

  after(async () => {
    storage.server.closeAllConnections();
    storage.server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function transcode(name: string, demuxer: string, extra: Partial<RunFfmpegOptions> = {}, pipelined = false) {
    const stem = join(dir, `${name.replace('/', '-')}${pipelined ? '.piped' : ''}`);
    const output = `${stem}.out.m4a`;
    const adts = `${stem}.out.aac`;
    const argsOptions = { inputUrl: `${storage.base}/${name}?${SIGNATURE}`, demuxer, adtsPath: adts, maxDurationSeconds: 60 };
    const pipeline = pipelined ? buildPipelinedTranscodeArgs(argsOptions) : null;
    let bytes = 0;
    const pcm = createHash('sha256');
    const events: string[] = [];
    const run = runFfmpeg({
      ffmpegPath: ffmpeg,
      args: pipeline?.decoder ?? buildTranscodeArgs(argsOptions),
      ...(pipeline ? { encoderArgs: pipeline.encoder } : {}),
      onPcm: (chunk) => {
        bytes += chunk.length;
        pcm.update(chunk);
        if (events.at(-1) !== 'pcm') events.push('pcm');
      },
      onDeclaredDuration: () => events.push('declared'),
      ...extra,
    });
    // The worker's next step (media/transcode.ts): ADTS + decoded count -> faststart M4A.
    const mux = () => writeFaststartM4a({ adtsPath: adts, outputPath: output, durationSamples: bytes / 2, sampleRate: 44_100 });
    return { run, output, adts, mux, events, samples: () => bytes / 2, pcmHash: () => pcm.digest('hex') };
  }

  it('transcodes an M4A with moov at the end (read with Range) into faststart AAC-LC mono 44.1 kHz', async () => {
    const job = transcode('m4a-moov-end.m4a', 'mov');
    const result = await job.run;
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.deepEqual([result.stalled, result.aborted, result.limitHit], [false, false, false]);
    const expected = expectedSamples(specs.moovAtEnd)!;
    assert.ok(Math.abs(job.samples() - expected) <= 0.05 * 44_100 + sampleSlack(specs.moovAtEnd));
    assert.ok(storage.ranges.some((range) => !range.startsWith('bytes=0-')), 'ffmpeg seeked with Range');
    assert.ok(Math.abs(result.declaredDurationSeconds! - 8) < 0.1, `declared ${result.declaredDurationSeconds}`);
    assert.deepEqual(job.events, ['declared', 'pcm'], 'declared duration arrives before any PCM');
    assert.ok(!result.stderrTail.includes(SIGNATURE), 'presigned signature kept out of logs');
    assert.match(result.stderrTail, /\?<redacted>/);

    await job.mux();
    const info = await inspectM4a(job.output);
    assert.deepEqual(
      [info.codec, info.profile, info.channels, info.sampleRate, info.majorBrand],
      ['aac', 'LC', 1, 44_100, 'M4A '],
    );
    assert.ok(info.boxes.indexOf('moov') < info.boxes.indexOf('mdat'), info.boxes.join(','));
    assert.ok(info.bitRate > 50_000 && info.bitRate < 80_000, `bit rate ${info.bitRate}`);
  });

  it('decodes an MP3 with cover art to the exact sample count and drops the picture', async () => {
    const job = transcode('mp3-cover.mp3', 'mp3');
    const result = await job.run;
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.equal(job.samples(), expectedSamples(specs.mp3Cover));
    await job.mux();
    await inspectM4a(job.output); // throws unless the output has exactly one (audio) stream
  });

  it('kills the whole process group on abort and settles only when it is gone', async () => {
    const controller = new AbortController();
    let pid = 0;
    const job = transcode('wav.wav', 'wav', {
      signal: controller.signal,
      onSpawn: (p) => { pid = p; },
      onPcm: () => controller.abort(),
    });
    const result = await job.run;
    assert.equal(result.aborted, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.limitHit, false);
    assert.ok(pid > 0);
    assert.deepEqual(await liveMembers(pid), []);
  });

  it('does not start ffmpeg when the signal is already aborted', async () => {
    let spawned = false;
    const job = transcode('wav.wav', 'wav', { signal: AbortSignal.abort(), onSpawn: () => { spawned = true; } });
    const result = await job.run;
    assert.equal(result.aborted, true);
    assert.equal(spawned, false);
  });

  it('lets the declared-duration callback refuse the input by aborting', async () => {
    const controller = new AbortController();
    const job = transcode('wav.wav', 'wav', {
      signal: controller.signal,
      onDeclaredDuration: (seconds) => { if (seconds > 10) controller.abort(); },
    });
    const result = await job.run;
    assert.equal(result.aborted, true);
    assert.equal(result.declaredDurationSeconds, 30);
    assert.ok(job.samples() < 30 * 44_100);
  });

  it('rejects with the error onPcm threw, after killing the group', async () => {
    let pid = 0;
    const tooLong = new Error('too long');
    const job = transcode('wav.wav', 'wav', { onSpawn: (p) => { pid = p; }, onPcm: () => { throw tooLong; } });
    await assert.rejects(job.run, (error) => error === tooLong);
    assert.deepEqual(await liveMembers(pid), []);
  });

  it('reports a stall when storage sends headers and then nothing', async () => {
    const started = Date.now();
    const job = transcode('hang/a.mp3', 'mp3', { stallTimeoutMs: 500 });
    const result = await job.run;
    assert.equal(result.stalled, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 5_000);
  });

  it('stalls and kills grandchildren of a process that prints nothing', async () => {
    const fake = join(dir, 'fake-ffmpeg.sh');
    await writeFile(fake, '#!/bin/sh\nsleep 30 &\nsleep 30\n');
    await chmod(fake, 0o755);
    let pid = 0;
    const result = await runFfmpeg({
      ffmpegPath: fake, args: [], onPcm: () => {}, stallTimeoutMs: 300, onSpawn: (p) => { pid = p; },
    });
    assert.equal(result.stalled, true);
    assert.deepEqual(await liveMembers(pid), []);
  });

  describe('pipelined (decoder | encoder)', () => {
    const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

    for (const [name, demuxer] of [['mp3-cover.mp3', 'mp3'], ['wav.wav', 'wav'], ['m4a-moov-end.m4a', 'mov']] as const) {
      it(`writes the same AAC and the same PCM as one process (${demuxer})`, async () => {
        const one = transcode(name, demuxer);
        const two = transcode(name, demuxer, {}, true);
        const [a, b] = await Promise.all([one.run, two.run]);
        assert.equal(a.exitCode, 0, a.stderrTail);
        assert.equal(b.exitCode, 0, b.stderrTail);
        assert.deepEqual([b.stalled, b.aborted, b.limitHit], [false, false, false]);
        assert.equal(b.declaredDurationSeconds, a.declaredDurationSeconds);
        assert.ok(one.samples() > 0);
        assert.equal(two.samples(), one.samples());
        assert.equal(two.pcmHash(), one.pcmHash());
        assert.ok((await stat(two.adts)).size > 1000);
        assert.equal(await sha256(two.adts), await sha256(one.adts), 'ADTS byte for byte');
      });
    }

    it('kills both process groups on abort and settles only when both are gone', async () => {
      const controller = new AbortController();
      const pids: number[] = [];
      const job = transcode('wav.wav', 'wav', {
        signal: controller.signal,
        onSpawn: (p) => { pids.push(p); },
        onPcm: () => controller.abort(),
      }, true);
      const result = await job.run;
      assert.equal(result.aborted, true);
      assert.equal(result.signal, 'SIGKILL');
      assert.equal(result.limitHit, false);
      assert.equal(new Set(pids).size, 2, `two processes: ${pids}`);
      for (const pid of pids) assert.deepEqual(await liveMembers(pid), []);
    });

    it('fails the run when the encoder dies, and stops the decoder', async () => {
      const pids: number[] = [];
      let killed = false;
      const job = transcode('wav.wav', 'wav', {
        onSpawn: (p) => { pids.push(p); },
        onPcm: () => {
          if (killed) return;
          killed = true;
          process.kill(pids[1]!, 'SIGKILL'); // the encoder, as the OOM killer would
        },
      }, true);
      const result = await job.run;
      // The encoder's ending is the cause, not the decoder's broken pipe.
      assert.equal(result.signal, 'SIGKILL', result.stderrTail);
      assert.equal(result.exitCode, null);
      assert.equal(result.limitHit, true, 'a SIGKILL we did not send counts as a limit (retried)');
      assert.ok(job.samples() < 30 * 44_100, 'the decoder did not run to the end');
      for (const pid of pids) assert.deepEqual(await liveMembers(pid), []);
    });

    it('reports the decoder\'s own failure, not the encoder it stopped', async () => {
      const cut = join(dir, 'cut.m4a');
      await writeFile(cut, await readFile(join(dir, 'm4a-moov-end.m4a')));
      await truncate(cut, 20_000); // the moov at the end is gone
      const pids: number[] = [];
      const result = await transcode('cut.m4a', 'mov', { onSpawn: (p) => { pids.push(p); } }, true).run;
      assert.equal(result.exitCode, 1, result.stderrTail);
      assert.equal(result.signal, null);
      assert.equal(result.limitHit, false);
      assert.match(result.stderrTail, /moov atom not found/);
      for (const pid of pids) assert.deepEqual(await liveMembers(pid), []);
    });

    it('stalls and kills both when storage sends headers and then nothing', async () => {
      const pids: number[] = [];
      const result = await transcode('hang/b.mp3', 'mp3', { stallTimeoutMs: 500, onSpawn: (p) => { pids.push(p); } }, true).run;
      assert.equal(result.stalled, true);
      assert.equal(pids.length, 2);
      for (const pid of pids) assert.deepEqual(await liveMembers(pid), []);
    });
  });

  it('flags an ffmpeg stopped by its CPU limit', async () => {
    const args = ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'sine=duration=100000',
      '-af', 'volume=0.5', '-f', 's16le', 'pipe:1'];
    const result = await runFfmpeg({ ffmpegPath: ffmpeg, args, onPcm: () => {}, limits: { cpuSeconds: 1 } });
    assert.equal(result.sandbox.prlimit, true, 'prlimit is expected on this machine');
    assert.equal(result.limitHit, true, result.stderrTail);
    assert.notEqual(result.exitCode, 0);
  });

  // A static build segfaults instead, which is indistinguishable from a crash.
  it('flags an ffmpeg that cannot start inside its address-space limit', { skip: staticBuild() }, async () => {
    const result = await runFfmpeg({
      ffmpegPath: ffmpeg, args: ['-version'], onPcm: () => {}, limits: { addressSpaceBytes: 16 * 1024 ** 2 },
    });
    assert.notEqual(result.exitCode, 0);
    assert.equal(result.limitHit, true, result.stderrTail);
  });

  it('fails clearly when the ffmpeg binary does not exist', async () => {
    await assert.rejects(
      runFfmpeg({ ffmpegPath: join(dir, 'no-such-ffmpeg'), args: [], onPcm: () => {} }),
      /ffmpeg not found or not executable: .*no-such-ffmpeg/,
    );
    await assert.rejects(resolveFfmpeg(join(dir, 'no-such-ffmpeg')), /FFMPEG_PATH=.*no executable file/);
    await assert.rejects(resolveFfmpeg('/bin/true'), /FFMPEG_PATH=\/bin\/true does not run as ffmpeg/);
  });

  it('finds the machine ffmpeg and reports its version', async () => {
    const binary = await resolveFfmpeg();
    assert.ok(['path', 'npm'].includes(binary.source));
    assert.match(binary.version, /^ffmpeg version /);
    assert.ok((await stat(binary.path)).isFile());
  });
});

describe('parseDurationLine', () => {
  it('reads HH:MM:SS.xx from the input header line', () => {
    assert.equal(parseDurationLine('  Duration: 00:00:03.03, start: 0.025057, bitrate: 129 kb/s'), 3.03);
    assert.equal(parseDurationLine('  Duration: 01:02:03.45, bitrate: 64 kb/s'), 3723.45);
    assert.equal(parseDurationLine('  Duration: 123:00:00.00, start: 0'), 442_800);
    assert.equal(parseDurationLine('[info]   Duration: 00:01:00.00, start: 0'), null);
  });

  it('returns null for N/A and for lines that are not a Duration header', () => {
    assert.equal(parseDurationLine('  Duration: N/A, bitrate: N/A'), null);
    assert.equal(parseDurationLine('size= 25kB time=00:00:03.01 bitrate= 68.4kbits/s'), null);
    assert.equal(parseDurationLine('    title           : Duration: 00:10:00.00, fake'), null);
    assert.equal(parseDurationLine(''), null);
  });
});

describe('primaryEnd', () => {
  const end = (name: string, code: number | null, tail = '') => ({ name, code, stderr: { tail } });
  it('is the only process of a one-process run', () => {
    assert.equal(primaryEnd([end('one', 1)]).name, 'one');
  });

  it('is the decoder when it failed on its own, whatever it did to the encoder', () => {
    assert.equal(primaryEnd([end('decoder', 1, 'moov atom not found'), end('encoder', null)]).name, 'decoder');
    assert.equal(primaryEnd([end('decoder', null), end('encoder', null)]).name, 'decoder');
  });

  it('is the encoder when the decoder ended cleanly or only lost its pipe', () => {
    assert.equal(primaryEnd([end('decoder', 0), end('encoder', 0)]).name, 'encoder');
    assert.equal(primaryEnd([end('decoder', 0), end('encoder', 1)]).name, 'encoder');
    const brokenPipe = 'av_interleaved_write_frame(): Broken pipe\nError writing trailer of pipe:3: Broken pipe';
    assert.equal(primaryEnd([end('decoder', 1, brokenPipe), end('encoder', null)]).name, 'encoder');
  });
});

describe('redactUrls', () => {
  it('drops query strings, where presigned signatures live', () => {
    assert.equal(
      redactUrls(`Input #0, mp3, from 'http://127.0.0.1:9000/audio/uploads/x?X-Amz-Credential=a&${SIGNATURE}':`),
      "Input #0, mp3, from 'http://127.0.0.1:9000/audio/uploads/x?<redacted>':",
    );
    assert.equal(redactUrls('no url here'), 'no url here');
    assert.equal(redactUrls(`...cut line &${SIGNATURE}&X-Amz-Date=1`), '...cut line &X-Amz-Signature=<redacted>&X-Amz-Date=1');
  });
});

describe('wrapCommand', () => {
  const limits = { cpuSeconds: 60, addressSpaceBytes: 1024 ** 3, nice: 10, stallTimeoutMs: 1 };
  it('runs ffmpeg under prlimit and nice when both exist', () => {
    const argv = wrapCommand('/usr/bin/ffmpeg', ['-version'], limits, { prlimit: '/usr/bin/prlimit', nice: '/usr/bin/nice' });
    assert.deepEqual(argv, [
      '/usr/bin/prlimit', '--cpu=60:65', '--as=1073741824', '--core=0', '--',
      '/usr/bin/nice', '-n', '10', '/usr/bin/ffmpeg', '-version',
    ]);
  });

  it('runs ffmpeg bare when neither exists', () => {
    assert.deepEqual(wrapCommand('/x/ffmpeg', ['-i'], limits, { prlimit: null, nice: null }), ['/x/ffmpeg', '-i']);
  });
});

// The box walker the worker uses to check its own output (lives with the runner's tests).
describe('topLevelBoxes', () => {
  const box = (type: string, payload: number): Buffer => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 + payload, 0);
    header.write(type, 4, 'latin1');
    return Buffer.concat([header, Buffer.alloc(payload)]);
  };

  it('walks 32-bit, 64-bit and to-the-end sizes', () => {
    const large = Buffer.alloc(16 + 4);
    large.writeUInt32BE(1, 0);
    large.write('free', 4, 'latin1');
    large.writeBigUInt64BE(20n, 8);
    const last = Buffer.from([0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74, 1, 2, 3]); // size 0 = to the end
    const boxes = topLevelBoxes(Buffer.concat([box('ftyp', 16), box('moov', 4), large, last]));
    assert.deepEqual(boxes.map((b) => [b.type, b.size]), [['ftyp', 24], ['moov', 12], ['free', 20], ['mdat', 11]]);
    assert.equal(isFaststart(boxes), true);
  });

  it('marks a cut or overrunning header and never calls that faststart', () => {
    const cut = topLevelBoxes(Buffer.concat([box('ftyp', 4), box('moov', 100).subarray(0, 50)]));
    assert.deepEqual(cut.map((b) => b.type), ['ftyp', '!bad']);
    assert.equal(isFaststart(topLevelBoxes(Buffer.concat([box('ftyp', 4), box('mdat', 4), box('moov', 4)]))), false);
    assert.equal(isFaststart(cut), false);
  });
});
