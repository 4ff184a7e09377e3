// Our own faststart M4A writer for one AAC track. ffmpeg's mov muxer keeps a
// ~72-byte index entry per AAC frame (RSS +19 MB over two hours) and
// +faststart rewrites the whole file at the end; instead ffmpeg writes ADTS
// (no per-frame state) and this module turns it into ftyp + moov + mdat with
// 2 bytes a frame of memory (adts.ts) and two sequential reads.
//
// The boxes mirror what `ffmpeg -f ipod -movflags +faststart` (5.1) writes
// where players look: same brands, timescales, edit list semantics, esds
// descriptors, 1 MiB chunks and AAC pre-roll group. Layout: ISO/IEC 14496-12
// (boxes), 14496-14 (esds), 14496-1 §7.2.6 (descriptors).
import type { AdtsIndexer } from './adts.js';
import { BoxWriter } from './mp4-box-writer.js';

/** ffmpeg's native AAC encoder's initial_padding: the first 1024 decoded samples are priming. */
export const AAC_PRIMING_SAMPLES = 1024;
const AAC_FRAME_SAMPLES = 1024;
/** ffmpeg's build_chunks(): contiguous frames share a chunk while it stays under 1 MiB. */
export const MAX_CHUNK_BYTES = 1 << 20;

/** ffmpeg's MOV_TIMESCALE; the sample rate instead makes the edit list sample-exact (see movieTimescale). */
const DEFAULT_MOVIE_TIMESCALE = 1000;
const MAX_U32 = 0xffff_ffff;

export interface M4aTrack {
  /** DecoderSpecificInfo for the esds (the ADTS stream's AudioSpecificConfig). */
  audioSpecificConfig: Uint8Array;
  sampleRate: number;
  channels: number;
  /** Raw AAC payload size of every frame, in order (the mdat is these, concatenated). */
  frameSizes: ArrayLike<number>;
  /** Real audio samples (the decoded length), without priming and end padding. */
  durationSamples: number;
  /** Encoder delay to hide with the edit list; default ffmpeg's 1024. */
  primingSamples?: number;
  /**
   * Units of the mvhd/tkhd/elst durations; default 1000 like ffmpeg, which
   * rounds the real end to a millisecond (Chromium then decodes up to 43
   * samples fewer). The sample rate makes it exact.
   */
  movieTimescale?: number;
}

/** Frames per chunk and each chunk's offset from the start of the mdat payload. */
export interface ChunkLayout {
  framesPerChunk: number[];
  offsets: number[];
}

export function planChunks(frameSizes: ArrayLike<number>, maxChunkBytes = MAX_CHUNK_BYTES): ChunkLayout {
  const framesPerChunk: number[] = [];
  const offsets: number[] = [];
  let chunkBytes = 0;
  let position = 0;
  for (let i = 0; i < frameSizes.length; i++) {
    const size = frameSizes[i]!;
    if (i === 0 || chunkBytes + size >= maxChunkBytes) {
      framesPerChunk.push(0);
      offsets.push(position);
      chunkBytes = 0;
    }
    framesPerChunk[framesPerChunk.length - 1]! += 1;
    chunkBytes += size;
    position += size;
  }
  return { framesPerChunk, offsets };
}

/** Full box version for a duration: 1 (64-bit fields) only when 32 bits can't hold it, as ffmpeg. */
function versionFor(duration: number): number {
  return duration > MAX_U32 ? 1 : 0;
}

/** Identity matrix in 16.16 / 2.30 fixed point (tkhd, mvhd). */
function matrix(w: BoxWriter): void {
  for (const v of [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000]) w.u32(v);
}

interface Timing {
  /** stts runs: [sampleCount, sampleDelta]. */
  stts: Array<[number, number]>;
  /** Sum of the stts: the mdhd duration, in samples. */
  mediaDuration: number;
  movieTimescale: number;
  /** Edit list / tkhd / mvhd duration in movie timescale units. */
  presentation: number;
  priming: number;
}

/**
 * Like ffmpeg, the last frame's stts delta covers only the real samples it
 * holds, so the media ends where the audio does; if the caller counted fewer
 * samples than that, every frame keeps 1024 and the edit list alone trims.
 */
function timing(track: M4aTrack): Timing {
  const frames = track.frameSizes.length;
  const priming = track.primingSamples ?? AAC_PRIMING_SAMPLES;
  const movieTimescale = track.movieTimescale ?? DEFAULT_MOVIE_TIMESCALE;
  const capacity = frames * AAC_FRAME_SAMPLES - priming;
  for (const [name, value, min] of [['durationSamples', track.durationSamples, 1], ['primingSamples', priming, 0],
    ['sampleRate', track.sampleRate, 1], ['movieTimescale', movieTimescale, 1]] as const) {
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
  }
  if (track.durationSamples > capacity) {
    throw new Error(
      `durationSamples ${track.durationSamples} exceeds what ${frames} AAC frames hold ` +
      `(${frames} x ${AAC_FRAME_SAMPLES} - ${priming} priming = ${capacity})`,
    );
  }
  const last = priming + track.durationSamples - (frames - 1) * AAC_FRAME_SAMPLES;
  const stts: Array<[number, number]> = [];
  if (last >= 1 && last < AAC_FRAME_SAMPLES) {
    if (frames > 1) stts.push([frames - 1, AAC_FRAME_SAMPLES]);
    stts.push([1, last]);
  } else {
    stts.push([frames, AAC_FRAME_SAMPLES]);
  }
  return {
    stts,
    mediaDuration: stts.reduce((sum, [n, delta]) => sum + n * delta, 0),
    movieTimescale,
    // Milliseconds can't hold every sample count. Rounded down so the
    // edit never reaches past the media's end (the stts stops at the real
    // last sample): players may drop < 1 ms of real audio, never show padding.
    // At least 1: a zero segment_duration reads as "to the end of the media".
    presentation: Math.max(1, Math.floor((track.durationSamples * movieTimescale) / track.sampleRate)),
    priming,
  };
}

/** esds rates: average over the media like ffmpeg's compute_avg_bitrate(); max over any ~1 s run of frames. */
function bitrates(sizes: ArrayLike<number>, t: Timing, sampleRate: number) {
  const window = Math.ceil(sampleRate / AAC_FRAME_SAMPLES);
  let total = 0, run = 0, busiest = 0, largest = 0;
  for (let i = 0; i < sizes.length; i++) {
    total += sizes[i]!;
    run += sizes[i]! - (i >= window ? sizes[i - window]! : 0);
    busiest = Math.max(busiest, run);
    largest = Math.max(largest, sizes[i]!);
  }
  const avg = Math.floor((total * 8 * sampleRate) / t.mediaDuration);
  return { bufferSizeDB: largest, maxBitrate: Math.min(MAX_U32, Math.max(avg, busiest * 8)), avgBitrate: Math.min(MAX_U32, avg) };
}

function writeSampleEntry(w: BoxWriter, track: M4aTrack, t: Timing): void {
  const rates = bitrates(track.frameSizes, t, track.sampleRate);
  w.box('mp4a', () => {
    w.zeros(6);
    w.u16(1); // data_reference_index: the dref's self-contained url
    w.zeros(8); // version, revision, vendor
    // The real count (ffmpeg writes 2 whatever the layout); decoders take the layout from the esds.
    w.u16(track.channels);
    w.u16(16); // samplesize
    w.zeros(4); // pre_defined, reserved
    w.u32(track.sampleRate <= 0xffff ? track.sampleRate * 0x1_0000 : 0); // 16.16, as ffmpeg
    w.fullBox('esds', 0, 0, () => {
      w.descriptor(0x03, () => { // ES_Descriptor
        w.u16(1); // ES_ID = track_ID, as ffmpeg
        w.u8(0); // no depends-on / URL / OCR stream
        w.descriptor(0x04, () => { // DecoderConfigDescriptor
          w.u8(0x40); // objectTypeIndication: MPEG-4 Audio (14496-3)
          w.u8((0x05 << 2) | 1); // streamType audio, upStream 0, reserved 1
          w.u24(rates.bufferSizeDB);
          w.u32(rates.maxBitrate);
          w.u32(rates.avgBitrate);
          w.descriptor(0x05, () => w.bytes(track.audioSpecificConfig)); // DecoderSpecificInfo
        });
        w.descriptor(0x06, () => w.u8(0x02)); // SLConfigDescriptor: predefined, reserved for MP4
      });
    });
  });
}

/** Writes the stbl; returns where the chunk offset entries (relative to the mdat payload for now) start. */
function writeSampleTables(w: BoxWriter, track: M4aTrack, t: Timing, layout: ChunkLayout, co64: boolean): number {
  let offsetsAt = 0;
  const sizes = track.frameSizes;
  w.box('stbl', () => {
    w.fullBox('stsd', 0, 0, () => { w.u32(1); writeSampleEntry(w, track, t); });
    w.fullBox('stts', 0, 0, () => {
      w.u32(t.stts.length);
      for (const [count, delta] of t.stts) { w.u32(count); w.u32(delta); }
    });
    // stsc lists only the chunks where frames-per-chunk changes.
    const runs: Array<[number, number]> = [];
    layout.framesPerChunk.forEach((n, i) => { if (runs.at(-1)?.[1] !== n) runs.push([i + 1, n]); });
    w.fullBox('stsc', 0, 0, () => {
      w.u32(runs.length);
      for (const [firstChunk, n] of runs) { w.u32(firstChunk); w.u32(n); w.u32(1); }
    });
    w.fullBox('stsz', 0, 0, () => {
      w.u32(0); // sizes vary: one entry per frame follows
      w.u32(sizes.length);
      for (let i = 0; i < sizes.length; i++) w.u32(sizes[i]!);
    });
    w.fullBox(co64 ? 'co64' : 'stco', 0, 0, () => {
      w.u32(layout.offsets.length);
      offsetsAt = w.pos;
      for (const offset of layout.offsets) if (co64) w.u64(offset); else w.u32(offset);
    });
    // AAC pre-roll (14496-12 §10.1 'roll'): decoding a frame right needs the
    // one before it (MDCT overlap). ffmpeg writes the same two boxes.
    w.fullBox('sgpd', 1, 0, () => { w.fourcc('roll'); w.u32(2); w.u32(1); w.u16(0xffff); });
    w.fullBox('sbgp', 0, 0, () => { w.fourcc('roll'); w.u32(1); w.u32(sizes.length); w.u32(1); });
  });
  return offsetsAt;
}

function writeTrack(w: BoxWriter, track: M4aTrack, t: Timing, layout: ChunkLayout, co64: boolean): number {
  let offsetsAt = 0;
  w.box('trak', () => {
    // flags 3 = enabled | in_movie, as ffmpeg (in_preview is a QuickTime-only hint).
    const ver = versionFor(t.presentation);
    w.fullBox('tkhd', ver, 3, () => {
      w.uv(ver, 0); w.uv(ver, 0); // creation, modification: 0 like ffmpeg, so output is reproducible
      w.u32(1); w.u32(0); // track_ID, reserved
      w.uv(ver, t.presentation);
      w.zeros(8);
      w.u16(0); w.u16(1); // layer, alternate_group (ffmpeg puts audio in group 1)
      w.u16(0x0100); w.u16(0); // volume 1.0, reserved
      matrix(w);
      w.u32(0); w.u32(0); // width, height
    });
    // Edit list: start presenting after the priming samples and stop at the
    // real end, so gapless players (and ffmpeg) drop the encoder's padding.
    w.box('edts', () => {
      w.fullBox('elst', ver, 0, () => {
        w.u32(1);
        w.uv(ver, t.presentation); // segment_duration, movie timescale
        w.uv(ver, t.priming); // media_time, media timescale
        w.u32(0x0001_0000); // media_rate 1.0
      });
    });
    w.box('mdia', () => {
      const mediaVer = versionFor(t.mediaDuration);
      w.fullBox('mdhd', mediaVer, 0, () => {
        w.uv(mediaVer, 0); w.uv(mediaVer, 0);
        w.u32(track.sampleRate);
        w.uv(mediaVer, t.mediaDuration);
        w.u16(0x55c4); // 'und': ISO-639-2 packed as three 5-bit letters
        w.u16(0);
      });
      w.fullBox('hdlr', 0, 0, () => { w.u32(0); w.fourcc('soun'); w.zeros(12); w.cstring('SoundHandler'); });
      w.box('minf', () => {
        w.fullBox('smhd', 0, 0, () => { w.u16(0); w.u16(0); }); // balance, reserved
        w.box('dinf', () => w.fullBox('dref', 0, 0, () => { w.u32(1); w.fullBox('url ', 0, 1, () => {}); })); // 1 = media in this file
        offsetsAt = writeSampleTables(w, track, t, layout, co64);
      });
    });
  });
  return offsetsAt;
}

interface Header {
  bytes: Uint8Array;
  /** Where the chunk offset table's entries start within `bytes`. */
  offsetsAt: number;
}

function writeHeader(track: M4aTrack, t: Timing, layout: ChunkLayout, payloadBytes: number, co64: boolean): Header {
  const w = new BoxWriter(2048 + 4 * track.frameSizes.length + 20 * layout.offsets.length);
  let offsetsAt = 0;
  w.box('ftyp', () => { w.fourcc('M4A '); w.u32(0x200); for (const b of ['M4A ', 'isom', 'iso2']) w.fourcc(b); });
  w.box('moov', () => {
    const ver = versionFor(t.presentation);
    w.fullBox('mvhd', ver, 0, () => {
      w.uv(ver, 0); w.uv(ver, 0);
      w.u32(t.movieTimescale);
      w.uv(ver, t.presentation);
      w.u32(0x0001_0000); w.u16(0x0100); w.zeros(10); // rate 1.0, volume 1.0, reserved
      matrix(w);
      w.zeros(24); // pre_defined
      w.u32(2); // next_track_ID
    });
    offsetsAt = writeTrack(w, track, t, layout, co64);
  });
  // mdat header last, so its payload (the frames) follows the moov directly.
  if (payloadBytes + 8 > MAX_U32) { w.u32(1); w.fourcc('mdat'); w.u64(payloadBytes + 16); }
  else { w.u32(payloadBytes + 8); w.fourcc('mdat'); }
  return { bytes: w.result(), offsetsAt };
}

/** Turns the chunk offsets from payload-relative to file offsets, in place. */
function shiftChunkOffsets(header: Header, chunks: number, co64: boolean): void {
  const view = new DataView(header.bytes.buffer, header.bytes.byteOffset, header.bytes.byteLength);
  const shift = header.bytes.length;
  for (let i = 0; i < chunks; i++) {
    if (co64) {
      const at = header.offsetsAt + 8 * i;
      view.setBigUint64(at, view.getBigUint64(at) + BigInt(shift));
    } else {
      const at = header.offsetsAt + 4 * i;
      view.setUint32(at, view.getUint32(at) + shift);
    }
  }
}


/**
 * ftyp + moov + mdat header for one AAC track whose raw frames (ADTS headers
 * stripped) follow immediately. The header's size does not depend on the
 * chunk offsets' values, so they are written relative to the payload and
 * shifted by the header's length afterwards; co64 replaces stco when the
 * last chunk would start past 4 GiB.
 */
export function buildM4aHeader(track: M4aTrack): Uint8Array {
  if (track.frameSizes.length === 0) throw new Error('an M4A needs at least one AAC frame, got none');
  const t = timing(track);
  const layout = planChunks(track.frameSizes);
  let payloadBytes = 0;
  for (let i = 0; i < track.frameSizes.length; i++) payloadBytes += track.frameSizes[i]!;
  let co64 = false;
  let header = writeHeader(track, t, layout, payloadBytes, co64);
  if (header.bytes.length + layout.offsets.at(-1)! > MAX_U32) {
    co64 = true;
    header = writeHeader(track, t, layout, payloadBytes, co64);
  }
  shiftChunkOffsets(header, layout.offsets.length, co64);
  return header.bytes;
}

/**
 * The header for every frame an AdtsIndexer has seen: the stream must end on
 * a frame boundary and hold at least one frame, and `sampleRate` (the rate
 * `durationSamples` was counted at), if given, must be the stream's.
 */
export function buildM4aHeaderFromAdts(
  index: AdtsIndexer,
  t: { durationSamples: number; sampleRate?: number; movieTimescale?: number },
): Uint8Array {
  index.finish();
  const info = index.info;
  if (info === null || index.frameCount === 0) throw new Error('no ADTS frames (empty input)');
  if (t.sampleRate !== undefined && t.sampleRate !== info.sampleRate) {
    throw new Error(`AAC is at ${info.sampleRate} Hz but durationSamples was counted at ${t.sampleRate} Hz`);
  }
  return buildM4aHeader({
    audioSpecificConfig: index.audioSpecificConfig(), sampleRate: info.sampleRate, channels: info.channels,
    frameSizes: index.frameSizes(), durationSamples: t.durationSamples, movieTimescale: t.movieTimescale,
  });
}
