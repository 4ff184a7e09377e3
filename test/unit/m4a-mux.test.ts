import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildM4aHeader, MAX_CHUNK_BYTES, planChunks, type M4aTrack } from '../../src/media/m4a-mux.js';

// A small independent ISO BMFF reader, so the header is checked by parsing
// it back rather than by re-running the writer's own arithmetic.
interface Box { type: string; start: number; size: number; body: number; children: Box[] }

const CONTAINERS = new Set(['moov', 'trak', 'edts', 'mdia', 'minf', 'dinf', 'stbl']);
/** Bytes between a box's header and its child boxes. */
const CHILDREN_AFTER: Record<string, number> = { stsd: 8, dref: 8, mp4a: 28 };

function parseBoxes(buf: Uint8Array, start: number, end: number): Box[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const boxes: Box[] = [];
  for (let at = start; at < end;) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(...buf.subarray(at + 4, at + 8));
    let body = at + 8;
    if (size === 1) { size = Number(view.getBigUint64(at + 8)); body = at + 16; }
    const nested = CONTAINERS.has(type) || type in CHILDREN_AFTER;
    const box: Box = { type, start: at, size, body, children: [] };
    if (nested) {
      box.children = parseBoxes(buf, body + (CHILDREN_AFTER[type] ?? 0), at + size);
      const sum = box.children.reduce((n, c) => n + c.size, 0);
      assert.equal(body + (CHILDREN_AFTER[type] ?? 0) + sum, at + size, `${type}: child sizes add up to the box`);
    }
    boxes.push(box);
    if (type === 'mdat') break; // its payload is not in the header
    at += size;
  }
  return boxes;
}

class Header {
  readonly view: DataView;
  readonly top: Box[];
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.top = parseBoxes(bytes, 0, bytes.length);
  }
  find(path: string): Box {
    let boxes = this.top;
    let found: Box | undefined;
    for (const type of path.split('/')) {
      found = boxes.find((b) => b.type === type);
      assert.ok(found, `no ${type} in ${path}`);
      boxes = found.children;
    }
    return found!;
  }
  u32(at: number): number { return this.view.getUint32(at); }
  u64(at: number): number { return Number(this.view.getBigUint64(at)); }
  /** Entries of a full box table that starts with a 32-bit count, `width` 32-bit words each. */
  table(path: string, width: number, skip = 0): number[][] {
    const box = this.find(path);
    const at = box.body + 4 + skip;
    return Array.from({ length: this.u32(at) }, (_, i) =>
      Array.from({ length: width }, (_, k) => this.u32(at + 4 + 4 * (i * width + k))));
  }
}

const STBL = 'moov/trak/mdia/minf/stbl';
const ASC_LC_44K_MONO = Uint8Array.of(0x12, 0x08);

function track(frameSizes: ArrayLike<number>, durationSamples: number): M4aTrack {
  return { audioSpecificConfig: ASC_LC_44K_MONO, sampleRate: 44_100, channels: 1, frameSizes, durationSamples };
}

/** Sizes that look like 64 kbit/s AAC (~186 bytes a frame) without being constant. */
function sizes(frames: number, base = 186): Uint16Array {
  return Uint16Array.from({ length: frames }, (_, i) => base - 40 + ((i * 37) % 81));
}

describe('M4A header builder', () => {
  it('lays out ftyp, moov, then the mdat header that the payload follows, with sizes that add up', () => {
    const frameSizes = sizes(144);
    const payload = frameSizes.reduce((n, s) => n + s, 0);
    const h = new Header(buildM4aHeader(track(frameSizes, 145_530)));
    assert.deepEqual(h.top.map((b) => b.type), ['ftyp', 'moov', 'mdat']);
    const [ftyp, moov, mdat] = h.top as [Box, Box, Box];
    assert.equal(moov.start, ftyp.size);
    assert.equal(mdat.start, moov.start + moov.size);
    assert.equal(mdat.body, h.bytes.length, 'the header ends where the mdat payload starts');
    assert.equal(mdat.size, 8 + payload);
    assert.deepEqual(h.bytes.subarray(8, 28), new TextEncoder().encode('M4A \0\0\x02\0M4A isomiso2'));
    assert.deepEqual(h.find('moov').children.map((b) => b.type), ['mvhd', 'trak']);
    assert.deepEqual(h.find(STBL).children.map((b) => b.type), ['stsd', 'stts', 'stsc', 'stsz', 'stco', 'sgpd', 'sbgp']);
  });

  it('writes one stsz entry per frame and chunk offsets pointing into the payload', () => {
    // ~2.4 MB of frames: ffmpeg's 1 MiB rule makes three chunks.
    const frameSizes = sizes(3000, 800);
    const bytes = buildM4aHeader(track(frameSizes, 3000 * 1024 - 2000));
    const h = new Header(bytes);
    const stsz = h.find(`${STBL}/stsz`);
    assert.equal(h.u32(stsz.body + 4), 0, 'no constant sample size');
    assert.equal(h.u32(stsz.body + 8), 3000);
    assert.deepEqual(Array.from({ length: 3000 }, (_, i) => h.u32(stsz.body + 12 + 4 * i)), [...frameSizes]);

    const offsets = h.table(`${STBL}/stco`, 1).map(([o]) => o!);
    const stsc = h.table(`${STBL}/stsc`, 3);
    assert.equal(offsets.length, 3);
    assert.equal(offsets[0], bytes.length, 'the first chunk starts right after the header');
    // Expand stsc into frames per chunk, then walk the frames: each chunk starts where the previous ended.
    const perChunk = offsets.map((_, c) => stsc.filter(([first]) => first! <= c + 1).at(-1)![1]!);
    assert.equal(perChunk.reduce((a, b) => a + b, 0), 3000);
    let frame = 0;
    let position = bytes.length;
    perChunk.forEach((n, c) => {
      assert.equal(offsets[c], position, `chunk ${c + 1} offset`);
      let chunkBytes = 0;
      for (let i = 0; i < n; i++) chunkBytes += frameSizes[frame++]!;
      assert.ok(chunkBytes < MAX_CHUNK_BYTES);
      position += chunkBytes;
    });
  });

  it('trims the priming with the edit list and ends the media at the real last sample', () => {
    const h = new Header(buildM4aHeader(track(sizes(55), 54_441)));
    const mvhd = h.find('moov/mvhd');
    assert.equal(h.u32(mvhd.body + 12), 1000, 'movie timescale');
    assert.equal(h.u32(mvhd.body + 16), 1234, 'movie duration = floor(54441 / 44.1)');
    const tkhd = h.find('moov/trak/tkhd');
    assert.equal(h.u32(tkhd.body) & 0xffffff, 3, 'enabled | in_movie');
    assert.equal(h.u32(tkhd.body + 20), 1234);
    assert.equal(h.view.getUint16(tkhd.body + 36), 0x0100, 'volume 1.0');
    const [edit] = h.table('moov/trak/edts/elst', 3);
    assert.deepEqual(edit, [1234, 1024, 0x1_0000], 'segment_duration, media_time = priming, rate 1.0');
    const mdhd = h.find('moov/trak/mdia/mdhd');
    assert.equal(h.u32(mdhd.body + 12), 44_100);
    assert.equal(h.u32(mdhd.body + 16), 1024 + 54_441);
    assert.equal(h.view.getUint16(mdhd.body + 20), 0x55c4, "language 'und'");
    assert.deepEqual(h.table(`${STBL}/stts`, 2), [[54, 1024], [1, 1024 + 54_441 - 54 * 1024]]);
    const hdlr = h.find('moov/trak/mdia/hdlr');
    assert.equal(String.fromCharCode(...h.bytes.subarray(hdlr.body + 8, hdlr.body + 12)), 'soun');
  });

  it('makes the edit sample-exact when the movie timescale is the sample rate', () => {
    const h = new Header(buildM4aHeader({ ...track(sizes(55), 54_441), movieTimescale: 44_100 }));
    assert.equal(h.u32(h.find('moov/mvhd').body + 12), 44_100);
    assert.deepEqual(h.table('moov/trak/edts/elst', 3)[0], [54_441, 1024, 0x1_0000]);
    assert.equal(h.u32(h.find('moov/trak/tkhd').body + 20), 54_441);
  });

  it('keeps one stts run when the audio fills the last frame, and lets the edit list trim a short count', () => {
    assert.deepEqual(new Header(buildM4aHeader(track(sizes(44), 43 * 1024))).table(`${STBL}/stts`, 2), [[44, 1024]]);
    const short = new Header(buildM4aHeader(track(sizes(44), 30 * 1024)));
    assert.deepEqual(short.table(`${STBL}/stts`, 2), [[44, 1024]]);
    assert.deepEqual(short.table('moov/trak/edts/elst', 3)[0], [Math.floor((30 * 1024 * 1000) / 44_100), 1024, 0x1_0000]);
  });

  it('describes the stream in the esds: MPEG-4 audio, bit rates from the frame sizes, the AudioSpecificConfig', () => {
    const frameSizes = sizes(500);
    const durationSamples = 499 * 1024 - 1024 + 300;
    const h = new Header(buildM4aHeader(track(frameSizes, durationSamples)));
    const mp4a = h.find(`${STBL}/stsd/mp4a`);
    assert.equal(h.view.getUint16(mp4a.body + 6), 1, 'data_reference_index');
    assert.equal(h.view.getUint16(mp4a.body + 16), 1, 'channel count');
    assert.equal(h.u32(mp4a.body + 24), 44_100 * 0x1_0000, '16.16 sample rate');
    const esds = h.find(`${STBL}/stsd/mp4a/esds`);
    const d = h.bytes.subarray(esds.body + 4, esds.start + esds.size);
    // ES_Descriptor(3) > DecoderConfigDescriptor(4) > DecoderSpecificInfo(5), then SLConfig(6); 4-byte sizes.
    assert.equal(d[0], 0x03);
    assert.equal(d[8], 0x04);
    assert.equal(d[13], 0x40, 'objectTypeIndication: MPEG-4 audio');
    assert.equal(d[14], 0x15, 'streamType audio');
    const dv = new DataView(d.buffer, d.byteOffset);
    const bufferSizeDB = (dv.getUint16(15) << 8) | d[17]!;
    const [maxBitrate, avgBitrate] = [dv.getUint32(18), dv.getUint32(22)];
    const total = frameSizes.reduce((n, s) => n + s, 0);
    assert.equal(bufferSizeDB, Math.max(...frameSizes));
    assert.equal(avgBitrate, Math.floor((total * 8 * 44_100) / (1024 + durationSamples)), 'over the media duration, as ffmpeg');
    assert.ok(maxBitrate >= avgBitrate);
    assert.deepEqual([...d.subarray(26, 33)], [0x05, 0x80, 0x80, 0x80, 2, 0x12, 0x08]);
    assert.deepEqual([...d.subarray(33)], [0x06, 0x80, 0x80, 0x80, 1, 0x02]);
  });

  it('marks every frame with an AAC pre-roll of one frame, as ffmpeg does', () => {
    const h = new Header(buildM4aHeader(track(sizes(10), 5000)));
    const sgpd = h.find(`${STBL}/sgpd`);
    assert.deepEqual([...h.bytes.subarray(sgpd.body, sgpd.start + sgpd.size)], [1, 0, 0, 0, ...Buffer.from('roll'), 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff]);
    assert.deepEqual(h.table(`${STBL}/sbgp`, 2, 4), [[10, 1]]);
  });

  it('switches to co64 and a 64-bit mdat size past 4 GiB', () => {
    const frames = 540_000; // x 8000 bytes = 4.32 GB of payload
    const frameSizes = new Uint16Array(frames).fill(8000);
    const bytes = buildM4aHeader(track(frameSizes, frames * 1024 - 2048));
    const h = new Header(bytes);
    assert.deepEqual(h.find(STBL).children.map((b) => b.type), ['stsd', 'stts', 'stsc', 'stsz', 'co64', 'sgpd', 'sbgp']);
    const mdat = h.top[2]!;
    assert.equal(h.u32(mdat.start), 1, 'largesize follows');
    assert.equal(mdat.size, 16 + frames * 8000);
    assert.equal(mdat.body, bytes.length);
    const co64 = h.find(`${STBL}/co64`);
    const chunks = h.u32(co64.body + 4);
    const offsets = Array.from({ length: chunks }, (_, i) => h.u64(co64.body + 8 + 8 * i));
    const perChunk = Math.ceil((MAX_CHUNK_BYTES - 8000) / 8000); // frames joined while the chunk stays under 1 MiB
    assert.deepEqual(h.table(`${STBL}/stsc`, 3)[0], [1, perChunk, 1]);
    offsets.forEach((offset, c) => assert.equal(offset, bytes.length + c * perChunk * 8000));
    assert.ok(offsets.at(-1)! > 0xffff_ffff);
  });

  it('keeps stco while every chunk starts below 4 GiB', () => {
    const h = new Header(buildM4aHeader(track(new Uint16Array(100_000).fill(8000), 100_000 * 1024 - 2048)));
    assert.ok(h.find(`${STBL}/stco`));
  });

  it('groups frames into chunks under 1 MiB like ffmpeg', () => {
    assert.deepEqual(planChunks([10, 20, 30], 31), { framesPerChunk: [2, 1], offsets: [0, 30] });
    assert.deepEqual(planChunks([10, 20, 30], 30), { framesPerChunk: [1, 1, 1], offsets: [0, 10, 30] });
    assert.deepEqual(planChunks([], 30), { framesPerChunk: [], offsets: [] });
  });

  it('is deterministic (no timestamps), so equal inputs give equal bytes', () => {
    assert.deepEqual(buildM4aHeader(track(sizes(300), 250_000)), buildM4aHeader(track(sizes(300), 250_000)));
  });

  it('refuses no frames, a zero duration and more samples than the frames hold', () => {
    assert.throws(() => buildM4aHeader(track([], 1)), /at least one AAC frame/);
    assert.throws(() => buildM4aHeader(track(sizes(3), 0)), /durationSamples must be an integer >= 1, got 0/);
    assert.throws(() => buildM4aHeader(track(sizes(3), 2049)), /durationSamples 2049 exceeds what 3 AAC frames hold/);
    assert.doesNotThrow(() => buildM4aHeader(track(sizes(3), 2048)));
  });
});
