import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasLibopus, opusOutputArgs } from '../../src/renditions/opus.js';
import { resolveFfmpeg } from '../../src/media/ffmpeg-binary.js';

describe('Opus rendition settings', () => {
  it('encode mono 48 kHz Ogg Opus at 24 kbit/s with the measured settings', () => {
    const args = opusOutputArgs();
    const opt = (name: string) => args[args.indexOf(name) + 1];
    assert.equal(opt('-c:a'), 'libopus');
    assert.equal(opt('-b:a'), '24k');
    assert.equal(opt('-application'), 'audio');
    assert.equal(opt('-compression_level'), '5');
    assert.equal(opt('-ar'), '48000');
    assert.equal(opt('-f'), 'ogg');
  });

  it('finds libopus in the machine\'s ffmpeg and the npm one, and not in a build without it', async () => {
    const machine = await resolveFfmpeg(process.env.FFMPEG_PATH);
    assert.equal(await hasLibopus(machine.path), true);
    const npm = join(process.cwd(), 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
    if (await access(npm).then(() => true, () => false)) assert.equal(await hasLibopus(npm), true);
    const dir = await mkdtemp(join(tmpdir(), 'no-opus-'));
    try {
      const fake = join(dir, 'ffmpeg');
      await writeFile(fake, '#!/bin/sh\necho "Encoders:"\necho " A..... aac                  AAC (Advanced Audio Coding)"\n');
      await chmod(fake, 0o755);
      assert.equal(await hasLibopus(fake), false);
      assert.equal(await hasLibopus(join(dir, 'missing')), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the duration to the sample: Ogg pre-skip and end trimming', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'opus-dur-'));
    try {
      const out = join(dir, 'x.ogg');
      const { path } = await resolveFfmpeg(process.env.FFMPEG_PATH);
      const run = (args: string[]) => new Promise<Buffer>((res, rej) =>
        execFile(path, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'buffer', maxBuffer: 1 << 26 }, (e, so) => (e ? rej(e) : res(so))));
      // 1.2345 s at 44.1 kHz: not a whole number of 20 ms Opus frames.
      await run(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '1.2345', '-af', 'aresample=48000', ...opusOutputArgs(), out]);
      const pcm = await run(['-i', out, '-f', 's16le', '-ac', '1', '-ar', '48000', 'pipe:1']);
      const seconds = pcm.length / 2 / 48_000;
      assert.ok(Math.abs(seconds - 1.2345) < 0.02, `${seconds}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
