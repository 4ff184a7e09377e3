import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { lastGranule, oggDurationSeconds, oggStreamInfo } from '../../src/media/header-duration.js';

const dir = mkdtempSync(path.join(tmpdir(), 'ogg-'));
const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';

function encode(name: string, seconds: number, codec: string[]): Buffer {
  const out = path.join(dir, name);
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=300:duration=${seconds}`, ...codec, '-f', 'ogg', out]);
  return readFileSync(out);
}
const ends = (b: Buffer) => [b.subarray(0, 4096), b.subarray(Math.max(0, b.length - 65536))] as const;

describe('Ogg duration from the first and last pages', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads an Opus file’s duration to the sample', () => {
    const file = encode('a.opus', 7.5, ['-c:a', 'libopus', '-b:a', '32k']);
    assert.equal(oggDurationSeconds(...ends(file)), 7.5);
    assert.equal(oggStreamInfo(file)?.codec, 'opus');
  });

  it('reads a Vorbis file’s duration', () => {
    const file = encode('a.ogg', 3, ['-c:a', 'libvorbis', '-q:a', '2']);
    const seconds = oggDurationSeconds(...ends(file))!;
    assert.ok(Math.abs(seconds - 3) < 0.01, String(seconds));
  });

  it('sees the hours a tiny file claims in its last page', () => {
    // Encoding hours of silence takes minutes; a last page claiming them is what the parser reads.
    const file = Buffer.from(encode('short.opus', 1, ['-c:a', 'libopus', '-b:a', '6k']));
    const last = file.lastIndexOf(Buffer.from('OggS'));
    file.writeBigInt64LE(BigInt(7200 * 48_000 + 312), last + 6);
    assert.equal(Math.round(oggDurationSeconds(...ends(file))!), 7200);
  });

  it('answers null for what is not Ogg Opus/Vorbis, and never throws on garbage', () => {
    assert.equal(oggDurationSeconds(Buffer.from('ID3\x04 not ogg'), Buffer.alloc(100)), null);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
        const withMagic = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, ...a]);
        const v = oggDurationSeconds(withMagic, new Uint8Array([...b, 0x4f, 0x67, 0x67, 0x53, 0, ...a]));
        assert.ok(v === null || (Number.isFinite(v) && v >= 0));
        lastGranule(b);
      }),
      { numRuns: 300 },
    );
  });
});
