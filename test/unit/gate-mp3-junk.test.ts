// MP3s as old taggers and rippers leave them: junk around the frames.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findMpegAudio, MP3_CHAIN_FRAMES, mpegFrameHeader } from '../../src/media/gate.js';
import { detectFileType } from '../helpers/gate.js';
import { pseudoRandomBytes } from '../helpers/fixtures.js';

const bytes = (...parts: (string | number[] | Uint8Array)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 144 * 128000 / 44100 = 417 bytes.
const HEADER = [0xff, 0xfb, 0x90, 0x64];
const frame = (fill = 0x55) => bytes(HEADER, new Uint8Array(417 - 4).fill(fill));
const frames = (n: number) => Buffer.concat(Array.from({ length: n }, () => frame()));
/** Text junk a ripper might leave (no 0xFF byte, so no false frame sync). */
const junk = (n: number) => Buffer.from('Ripped by OldRipper 0.9 '.repeat(Math.ceil(n / 24)).slice(0, n), 'latin1');
const id3 = (body: Uint8Array, sizeBytes?: number[]) => {
  const n = body.length;
  const size = sizeBytes ?? [(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f];
  return bytes('ID3', [3, 0, 0], size, body);
};

describe('MPEG audio frame headers', () => {
  it('reads version, layer, sample rate and length, padding included', () => {
    assert.deepEqual(mpegFrameHeader(Buffer.from(HEADER), 0), { version: 3, layer: 3, sampleRate: 44100, length: 417 });
    assert.equal(mpegFrameHeader(Buffer.from([0xff, 0xfb, 0x92, 0x64]), 0)?.length, 418);
    // MPEG-2 Layer III, 64 kbit/s, 22.05 kHz: 72 * 64000 / 22050 = 208.
    assert.deepEqual(mpegFrameHeader(Buffer.from([0xff, 0xf3, 0x80, 0xc4]), 0), { version: 2, layer: 3, sampleRate: 22050, length: 208 });
  });

  it('refuses reserved versions, layers, sample rates, and free-format or bad bitrates', () => {
    for (const h of [[0xff, 0xeb, 0x90, 0], [0xff, 0xf9, 0x90, 0], [0xff, 0xfb, 0x9c, 0], [0xff, 0xfb, 0x00, 0], [0xff, 0xfb, 0xf0, 0], [0xfe, 0xfb, 0x90, 0]]) {
      assert.equal(mpegFrameHeader(Buffer.from(h), 0), undefined, Buffer.from(h).toString('hex'));
    }
  });

  it(`finds ${MP3_CHAIN_FRAMES} chained frames after junk, and not fewer`, () => {
    assert.deepEqual(findMpegAudio(bytes(junk(777), frames(MP3_CHAIN_FRAMES))), { offset: 777, ext: 'mp3' });
    assert.equal(findMpegAudio(bytes(junk(777), frames(MP3_CHAIN_FRAMES - 1))), undefined);
    // One valid header then noise: what a "header + payload" fake looks like.
    assert.equal(findMpegAudio(bytes(junk(10), HEADER, pseudoRandomBytes(4096, 3))), undefined);
  });

  it('finds no chain in 200 pseudo-random 64 KiB buffers', () => {
    for (let seed = 1; seed <= 200; seed++) assert.equal(findMpegAudio(pseudoRandomBytes(64 * 1024, seed)), undefined, `seed ${seed}`);
  });
});

describe('the gate on MP3s with junk around the frames', () => {
  const accepted: [string, Buffer][] = [
    ['junk between the ID3v2 tag and the first frame', bytes(id3(junk(300)), junk(1234), frames(8))],
    ['zeros after the ID3v2 tag (padding past its declared size)', bytes(id3(junk(50)), new Uint8Array(4096), frames(8))],
    ['an ID3v2 tag with padding inside it', bytes(id3(bytes(junk(60), new Uint8Array(8192))), frames(8))],
    ['an ID3v2 tag whose size is not sync-safe', bytes(id3(junk(200), [0, 0, 0, 0xc8]), frames(8))],
    ['junk before any tag', bytes(junk(2000), frames(8))],
    ['ID3v1, APE and Lyrics3 tags and junk after the frames', bytes(frames(8), 'APETAGEX', junk(64), 'LYRICSBEGIN', junk(20), 'LYRICS200', 'TAG', junk(125), pseudoRandomBytes(5000, 9))],
  ];
  for (const [name, file] of accepted) {
    it(`accepts ${name} as mp3`, async () => {
      assert.deepEqual(await detectFileType(file), { ok: true, mime: 'audio/mpeg', ext: 'mp3', demuxer: 'mp3' });
    });
  }

  const refused: [string, Buffer][] = [
    ['a Windows executable followed by MP3 frames', bytes('MZ', new Uint8Array(126), 'PE\0\0', new Uint8Array(500), frames(8))],
    ['a ZIP followed by MP3 frames', bytes('PK\x03\x04', new Uint8Array(100), frames(8))],
    ['junk, one frame header, then noise', bytes(junk(100), HEADER, pseudoRandomBytes(8192, 5))],
    ['an ID3v2 tag whose size is not sync-safe, then PHP', bytes(id3(Buffer.from('<?php system($_GET["c"]); ?>'), [0, 0, 0, 0x9f]))],
    ['junk then HTML', bytes(junk(500), '<html><script>alert(1)</script></html>')],
  ];
  for (const [name, file] of refused) {
    it(`refuses ${name}`, async () => {
      assert.equal((await detectFileType(file)).ok, false);
    });
  }
});
