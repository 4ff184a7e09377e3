import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AdtsIndexer, audioSpecificConfig, parseAdtsHeader } from '../../src/media/adts.js';

interface FrameOptions {
  profile?: number;
  freqIndex?: number;
  channels?: number;
  crc?: boolean;
  rawBlocks?: number;
  layer?: number;
  /** Overrides frame_length (to build a lying header). */
  frameLength?: number;
}

/** One ADTS frame laid out bit by bit as ISO/IEC 14496-3 §1.A.2.2 says, payload filled with `fill`. */
function adtsFrame(payloadBytes: number, o: FrameOptions = {}, fill = 0xa5): Uint8Array {
  const { profile = 1, freqIndex = 4, channels = 1, crc = false, rawBlocks = 0, layer = 0 } = o;
  const headerLength = crc ? 9 : 7;
  const frameLength = o.frameLength ?? headerLength + payloadBytes;
  const frame = new Uint8Array(headerLength + payloadBytes).fill(fill);
  frame[0] = 0xff;
  frame[1] = 0xf0 | (layer << 1) | (crc ? 0 : 1); // MPEG-4, layer, protection_absent
  frame[2] = (profile << 6) | (freqIndex << 2) | (channels >> 2);
  frame[3] = ((channels & 0b11) << 6) | (frameLength >> 11);
  frame[4] = (frameLength >> 3) & 0xff;
  frame[5] = ((frameLength & 0b111) << 5) | 0x1f; // buffer fullness 0x7ff (VBR)
  frame[6] = 0xfc | rawBlocks;
  if (crc) frame.set([0xc0, 0xc1], 7); // a CRC that must not end up in the payload
  return frame;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Feeds `stream` cut at `cuts` (sorted offsets); returns the indexer and the payload bytes the sink saw. */
function index(stream: Uint8Array, cuts: number[] = []): { indexer: AdtsIndexer; payload: Uint8Array } {
  const indexer = new AdtsIndexer();
  const seen: number[] = [];
  const bounds = [0, ...cuts, stream.length];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const chunk = stream.subarray(bounds[i], bounds[i + 1]);
    indexer.feed(chunk, (from, to) => seen.push(...chunk.subarray(from, to)));
  }
  indexer.finish();
  return { indexer, payload: Uint8Array.from(seen) };
}

describe('ADTS frame indexer', () => {
  it('records every frame payload size, the totals and the stream parameters', () => {
    const sizes = [371, 6, 0, 200, 8184];
    const { indexer, payload } = index(concat(sizes.map((n, i) => adtsFrame(n, {}, i))));
    assert.deepEqual([...indexer.frameSizes()], sizes);
    assert.equal(indexer.frameCount, 5);
    assert.equal(indexer.payloadBytes, 371 + 6 + 200 + 8184);
    assert.deepEqual(payload, concat(sizes.map((n, i) => new Uint8Array(n).fill(i))));
    assert.deepEqual(indexer.info, {
      profile: 1, objectType: 2, samplingFrequencyIndex: 4, sampleRate: 44_100, channelConfiguration: 1, channels: 1,
    });
  });

  it('gives the AudioSpecificConfig 0x12 0x08 for AAC LC, 44.1 kHz, mono', () => {
    const { indexer } = index(adtsFrame(10));
    assert.deepEqual([...indexer.audioSpecificConfig()], [0x12, 0x08]);
    assert.deepEqual([...audioSpecificConfig({ ...indexer.info!, samplingFrequencyIndex: 3, channelConfiguration: 2 })], [0x11, 0x90]);
  });

  it('handles frames and headers split byte by byte across chunks', () => {
    const stream = concat([adtsFrame(50, {}, 1), adtsFrame(3, { crc: true }, 2), adtsFrame(20, {}, 3)]);
    const { indexer, payload } = index(stream, Array.from({ length: stream.length - 1 }, (_, i) => i + 1));
    assert.deepEqual([...indexer.frameSizes()], [50, 3, 20]);
    assert.deepEqual(payload, concat([new Uint8Array(50).fill(1), new Uint8Array(3).fill(2), new Uint8Array(20).fill(3)]));
  });

  it('skips the 2-byte CRC of protected frames', () => {
    const { indexer, payload } = index(concat([adtsFrame(4, { crc: true }, 7), adtsFrame(2, {}, 8)]));
    assert.deepEqual([...indexer.frameSizes()], [4, 2]);
    assert.deepEqual([...payload], [7, 7, 7, 7, 8, 8]);
  });

  it('gives the same sizes and payload wherever the chunks are cut', () => {
    const frame = fc.record({ size: fc.integer({ min: 0, max: 600 }), crc: fc.boolean(), fill: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, rawCuts) => {
        const stream = concat(frames.map((f) => adtsFrame(f.size, { crc: f.crc }, f.fill)));
        const cuts = [...new Set(rawCuts.map((c) => c % stream.length))].filter((c) => c > 0).sort((a, b) => a - b);
        const { indexer, payload } = index(stream, cuts);
        assert.deepEqual([...indexer.frameSizes()], frames.map((f) => f.size));
        assert.deepEqual(payload, concat(frames.map((f) => new Uint8Array(f.size).fill(f.fill))));
      }),
      { numRuns: 300 },
    );
  });

  it('grows past its initial capacity without losing sizes', () => {
    const sizes = Array.from({ length: 5000 }, (_, i) => (i * 7) % 400);
    const { indexer } = index(concat(sizes.map((n) => adtsFrame(n))));
    assert.deepEqual([...indexer.frameSizes()], sizes);
  });

  it('counts without storing sizes when asked to', () => {
    const indexer = new AdtsIndexer({ keepFrameSizes: false });
    indexer.feed(concat([adtsFrame(5), adtsFrame(9)]));
    assert.equal(indexer.frameCount, 2);
    assert.equal(indexer.payloadBytes, 14);
    assert.throws(() => indexer.frameSizes(), /keepFrameSizes: false/);
  });

  it('rejects a lost sync word and says which frame and byte', () => {
    const stream = concat([adtsFrame(10), new Uint8Array([0x12, 0x34, 0, 0, 0, 0, 0])]);
    assert.throws(() => index(stream), /ADTS frame 1 at byte 17: expected the ADTS sync word 0xfff, got 0x123/);
  });

  it('rejects a frame whose profile, rate or channels differ from the first', () => {
    assert.throws(() => index(concat([adtsFrame(4), adtsFrame(4, { channels: 2 })])),
      /frame 1 at byte 11: channelConfiguration 2 differs from the first frame's 1/);
    assert.throws(() => index(concat([adtsFrame(4), adtsFrame(4, { freqIndex: 3 })])), /samplingFrequencyIndex 3 differs/);
    assert.throws(() => index(concat([adtsFrame(4), adtsFrame(4, { profile: 0 })])), /profile 0 differs/);
  });

  it('rejects frames carrying more than one raw data block', () => {
    assert.throws(() => index(adtsFrame(30, { rawBlocks: 2 })), /number_of_raw_data_blocks_in_frame must be 0.*got 2/);
  });

  it('rejects a frame_length shorter than the header, a non-zero layer and a PCE channel layout', () => {
    assert.throws(() => index(adtsFrame(0, { crc: true, frameLength: 8 })), /frame_length 8 is shorter than its 9-byte header/);
    assert.throws(() => index(adtsFrame(4, { layer: 1 })), /layer must be 0, got 1/);
    assert.throws(() => index(adtsFrame(4, { channels: 0 })), /channel_configuration 0/);
    assert.throws(() => parseAdtsHeader(adtsFrame(4, { freqIndex: 13 })), /sampling_frequency_index 13 is reserved/);
  });

  it('rejects a stream cut inside a frame when finished', () => {
    const stream = concat([adtsFrame(10), adtsFrame(10)]);
    assert.throws(() => index(stream.subarray(0, stream.length - 1)), /ends inside frame 1 \(started at byte 17\): truncated/);
    assert.throws(() => index(stream.subarray(0, 20)), /ends inside frame 1/);
  });
});
