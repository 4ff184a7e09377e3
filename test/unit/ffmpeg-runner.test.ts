import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { planRun } from '../../src/media/plan.js';
import { judge } from '../../src/media/run.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';
import {
  primaryEnd, runFfmpeg, type RunFfmpegOptions,
} from '../../src/media/ffmpeg-runner.js';
import { expectedSamples, makeAudio, sampleSlack, type FixtureSpec } from '../helpers/fixtures.js';
import { inspectM4a } from '../helpers/inspect-audio.js';
import { detectSandboxTools } from '../../src/media/sandbox.js';

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

/**
 * Members of a process group still running (zombies excluded: nothing may reap
 * them here), given up to 2 s to go. Under bwrap the group also holds bwrap's
 * init and ffmpeg inside its pid namespace, which the kernel tears down just
 * after the processes the runner spawned have closed.
 */
async function liveMembers(pgid: number, graceMs = 2000): Promise<number[]> {
  for (const until = Date.now() + graceMs; ; await new Promise((r) => setTimeout(r, 20))) {
    const live: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const statLine = await readFile(`/proc/${entry}/stat`, 'latin1').catch(() => '');
      const fields = statLine.slice(statLine.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') live.push(Number(entry));
    }
    if (live.length === 0 || Date.now() > until) return live;
  }
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
    const plan = planRun({
      inputUrl: `${storage.base}/${name}?${SIGNATURE}`, demuxer, etag: null, m4aPath: output, maxDurationSeconds: 60,
      movieTimescale: true, pipelined,
    });
    let bytes = 0;
    const pcm = createHash('sha256');
    const events: string[] = [];
    const run = runFfmpeg({
      ffmpegPath: ffmpeg,
      args: plan.decoder,
      workDir: dir,
      ...(plan.encoder ? { encoderArgs: plan.encoder } : {}),
      onPcm: (chunk) => {
        bytes += chunk.length;
        pcm.update(chunk);
        if (events.at(-1) !== 'pcm') events.push('pcm');
      },
      ...extra,
    });
    return { run, output, events, samples: () => bytes / 2, pcmHash: () => pcm.digest('hex') };
  }

  it('transcodes an M4A with moov at the end (read with Range) into faststart AAC-LC mono 44.1 kHz', async () => {
    const job = transcode('m4a-moov-end.m4a', 'mov');
    const result = await job.run;
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.deepEqual([result.stalled, result.aborted, result.limitHit], [false, false, false]);
    const expected = expectedSamples(specs.moovAtEnd)!;
    assert.ok(Math.abs(job.samples() - expected) <= 0.05 * 44_100 + sampleSlack(specs.moovAtEnd));
    assert.ok(storage.ranges.some((range) => !range.startsWith('bytes=0-')), 'ffmpeg seeked with Range');
    assert.ok(!result.stderrTail.includes(SIGNATURE), 'presigned signature kept out of logs');

    const info = await inspectM4a(job.output);
    assert.deepEqual(
      [info.codec, info.profile, info.channels, info.sampleRate, info.majorBrand],
      ['aac', 'LC', 1, 44_100, 'M4A '],
    );
    assert.ok(info.boxes.indexOf('moov') < info.boxes.indexOf('mdat'), info.boxes.join(','));
    // ffmpeg's edit list cuts the encoder's priming: the container holds exactly the decoded samples.
    assert.equal(info.durationSamples, job.samples());
    assert.ok(info.bitRate > 50_000 && info.bitRate < 80_000, `bit rate ${info.bitRate}`);
  });

  it('decodes an MP3 with cover art to the exact sample count and drops the picture', async () => {
    const job = transcode('mp3-cover.mp3', 'mp3');
    const result = await job.run;
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.equal(job.samples(), expectedSamples(specs.mp3Cover));
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
      ffmpegPath: fake, args: [], workDir: dir, onPcm: () => {}, stallTimeoutMs: 300, onSpawn: (p) => { pid = p; },
    });
    assert.equal(result.stalled, true);
    assert.deepEqual(await liveMembers(pid), []);
  });

  it('is not stalled while it only waits for a CPU (a low-priority job starved by busier processes)', async () => {
    const spin = join(dir, 'spin-ffmpeg.sh');
    // On CPU 1 it works and writes PCM (CPU it used before going quiet must not count); then, runnable the
    // whole time and never writing again, it spins on CPU 0, where three busy loops of higher priority run.
    await writeFile(spin, [
      '#!/bin/sh',
      'taskset -pc 1 $$ >/dev/null',
      'n=0; while [ $n -lt 10 ]; do i=0; while [ $i -lt 5000 ]; do i=$((i+1)); done; printf "PCM!"; n=$((n+1)); done',
      'taskset -pc 0 $$ >/dev/null',
      'while :; do :; done',
      '',
    ].join('\n'));
    await chmod(spin, 0o755);
    const hogs = [0, 1, 2].map(() => spawn('taskset', ['-c', '0', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }));
    try {
      const stopped = new AbortController();
      const safety = setTimeout(() => stopped.abort(), 30_000);
      let pcmBytes = 0;
      let quietSince = 0;
      const result = await runFfmpeg({
        ffmpegPath: spin, args: [], workDir: dir, stallTimeoutMs: 300, limits: { nice: 19 }, signal: stopped.signal,
        onPcm: (chunk) => {
          pcmBytes += chunk.length;
          // Starved for 2.5 s after its last PCM: eight stall windows and their probes.
          if (pcmBytes === 40) [quietSince] = [Date.now(), setTimeout(() => stopped.abort(), 2_500)];
        },
      });
      clearTimeout(safety);
      assert.equal(pcmBytes, 40, 'it wrote its PCM first');
      assert.deepEqual([result.stalled, result.aborted], [false, true], 'ran on, starved, until we stopped it');
      assert.ok(Date.now() - quietSince >= 2_400);
    } finally {
      for (const hog of hogs) hog.kill('SIGKILL');
    }
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
        assert.ok(one.samples() > 0);
        assert.equal(two.samples(), one.samples());
        assert.equal(two.pcmHash(), one.pcmHash());
        assert.ok((await stat(two.output)).size > 1000);
        assert.equal(await sha256(two.output), await sha256(one.output), 'M4A byte for byte');
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

  // ffmpeg catches SIGXCPU and exits 255; a library that cannot be mapped
  // exits 127. Neither is told apart from stderr: both are the file's fault.
  it('ends an ffmpeg stopped by its CPU limit as the file\'s fault, not a retry', async () => {
    const args = ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'sine=duration=100000',
      '-af', 'volume=0.5', '-f', 's16le', 'pipe:1'];
    const result = await runFfmpeg({ ffmpegPath: ffmpeg, args, workDir: dir, onPcm: () => {}, limits: { cpuSeconds: 1 } });
    assert.equal(result.sandbox.prlimit, true, 'prlimit is expected on this machine');
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual([judge(result, 1)?.code, judge(result, 1)?.retryable], ['UNREADABLE_AUDIO', false]);
  });

  // Under bubblewrap a signal reaches us as its exit code 128 + N; SIGXFSZ must still read as the limit.
  it('ends an ffmpeg stopped by its file-size limit as a limit hit, sandboxed or not', async () => {
    const args = ['-hide_banner', '-nostdin', '-f', 'lavfi', '-i', 'sine=duration=60', '-c:a', 'pcm_s16le', '-f', 'wav', join(dir, 'big.wav')];
    const result = await runFfmpeg({ ffmpegPath: ffmpeg, args, workDir: dir, onPcm: () => {}, limits: { fileSizeBytes: 64 * 1024 } });
    assert.equal(result.sandbox.kind, (await detectSandboxTools()).bwrap ? 'bwrap' : result.sandbox.kind);
    assert.deepEqual([result.signal, result.exitCode, result.limitHit], ['SIGXFSZ', null, true], result.stderrTail);
    assert.deepEqual([judge(result, 0)?.code, judge(result, 0)?.retryable], ['UNREADABLE_AUDIO', false]);
  });

  it('ends an ffmpeg that cannot start inside its address-space limit as the file\'s fault', { skip: staticBuild() }, async () => {
    const result = await runFfmpeg({ ffmpegPath: ffmpeg, args: ['-version'], workDir: dir, onPcm: () => {}, limits: { addressSpaceBytes: 32 * 1024 * 1024 } });
    assert.notEqual(result.exitCode, 0);
    assert.deepEqual([judge(result, 0)?.code, judge(result, 0)?.retryable], ['UNREADABLE_AUDIO', false]);
  });

  // With kernel.sched_autogroup_enabled, CFS shares the CPU between sessions before nice
  // counts: an ffmpeg in a session (autogroup) of its own at nice 0 took a voice note's share.
  it("runs ffmpeg, sandbox included, in one session whose scheduler autogroup has the job's nice", {
    skip: existsSync('/proc/self/autogroup') ? false : 'kernel without scheduler autogroups',
  }, async () => {
    const seen: string[][] = [];
    const args = ['-hide_banner', '-nostdin', '-re', '-f', 'lavfi', '-i', 'sine=duration=1.5', '-f', 's16le', 'pipe:1'];
    const result = await runFfmpeg({
      ffmpegPath: ffmpeg, args, workDir: dir, onPcm: () => {}, limits: { nice: 17 },
      onSpawn: (session) => void setTimeout(() => seen.push(autogroupsOfFfmpegIn(session)), 700),
    });
    assert.equal(result.exitCode, 0, result.stderrTail);
    assert.deepEqual(seen, [['nice 17']], 'the ffmpeg of the spawned session, at the nice of the job');
  });

  it('fails clearly when the ffmpeg binary does not exist', async () => {
    await assert.rejects(
      runFfmpeg({ ffmpegPath: join(dir, 'no-such-ffmpeg'), args: [], workDir: dir, onPcm: () => {} }),
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

describe('primaryEnd', () => {
  const end = (name: string, code: number | null, killedByUs = false) => ({ name, code, killedByUs });
  it('is the only process of a one-process run', () => {
    assert.equal(primaryEnd([end('one', 1)]).name, 'one');
  });

  it('is the decoder when it failed on its own, whatever it did to the encoder', () => {
    assert.equal(primaryEnd([end('decoder', 1), end('encoder', null, true)]).name, 'decoder');
    assert.equal(primaryEnd([end('decoder', null), end('encoder', null, true)]).name, 'decoder');
  });

  it('is the encoder when the decoder ended cleanly or was stopped because the encoder failed', () => {
    assert.equal(primaryEnd([end('decoder', 0), end('encoder', 0)]).name, 'encoder');
    assert.equal(primaryEnd([end('decoder', 0), end('encoder', 1)]).name, 'encoder');
    assert.equal(primaryEnd([end('decoder', null, true), end('encoder', null)]).name, 'encoder');
  });
});

/** The scheduler autogroup (`nice N`) of every ffmpeg process in a session. */
function autogroupsOfFfmpegIn(session: number): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const close = stat.lastIndexOf(')');
      // After comm: state, ppid, pgrp, session.
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'ffmpeg' || Number(stat.slice(close + 2).split(' ')[3]) !== session) continue;
      found.push(/nice -?\d+/.exec(readFileSync(`/proc/${name}/autogroup`, 'latin1'))?.[0] ?? '?');
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
