// Peak envelope of mono s16 PCM, in the spirit of waveform-data.js's
// generateWaveformData(): pure code, no streams. The media run feeds it the
// decoded PCM (analyser.ts), the asset stores the encoded envelope in a bytea
// column, and the API answers `waveform(bars: N)` from it with waveformBars().
import type { PcmAnalyser } from './analyser.js';

/** Fewest buckets a stored envelope keeps once it has seen this many samples (the contract's "at least 4,096"). */
export const MIN_ENVELOPE_BUCKETS = 4096;
export const DEFAULT_ENVELOPE_CAPACITY = 2 * MIN_ENVELOPE_BUCKETS;
export const MAX_WAVEFORM_BARS = 1024;

export interface Envelope {
  /** Samples per bucket; every bucket but the last holds exactly this many. */
  samplesPerBucket: number;
  /** Total samples seen (a safe integer). */
  sampleCount: number;
  /** Peak absolute amplitude per bucket, 0..32767; length = ceil(sampleCount / samplesPerBucket). */
  peaks: Uint16Array;
}

/**
 * Running peak reducer with constant memory: buckets start at one sample;
 * when all `capacity` are full, neighbours merge pairwise (max of each pair),
 * halving the count and doubling samplesPerBucket. Merging by max is exact, so
 * the result equals reducing the whole signal at the final bucket size.
 */
export class PeakReducer implements PcmAnalyser<Envelope> {
  private readonly capacity: number;
  private readonly peaks: Uint16Array;
  private samplesPerBucket = 1;
  /** Index of the bucket being filled, and how many samples it holds. */
  private bucket = 0;
  private filled = 0;
  private total = 0;

  constructor(options: { capacity?: number } = {}) {
    const capacity = options.capacity ?? DEFAULT_ENVELOPE_CAPACITY;
    // Even so pairs merge cleanly; >= 2 * 4096 so a merge never leaves fewer than 4096 buckets.
    if (!Number.isSafeInteger(capacity) || capacity % 2 !== 0 || capacity < DEFAULT_ENVELOPE_CAPACITY) {
      throw new RangeError(`PeakReducer capacity must be an even integer >= ${DEFAULT_ENVELOPE_CAPACITY}, got ${capacity}`);
    }
    this.capacity = capacity;
    this.peaks = new Uint16Array(capacity);
  }

  get sampleCount(): number {
    return this.total;
  }

  push(samples: Int16Array): void {
    const peaks = this.peaks;
    let { bucket, filled, samplesPerBucket: spb } = this;
    let peak = peaks[bucket]!;
    for (let i = 0; i < samples.length; i++) {
      if (filled === spb) {
        peaks[bucket] = peak;
        bucket++;
        filled = 0;
        if (bucket === this.capacity) {
          this.merge();
          spb = this.samplesPerBucket;
          bucket = this.capacity / 2;
        }
        peak = 0;
      }
      const s = samples[i]!;
      // -32768 has no positive twin in s16: clamp so peaks stay in 0..32767.
      const a = s >= 0 ? s : s === -32768 ? 32767 : -s;
      if (a > peak) peak = a;
      filled++;
    }
    peaks[bucket] = peak;
    this.bucket = bucket;
    this.filled = filled;
    this.total += samples.length;
  }

  /** The envelope so far, last partial bucket included; a copy, so pushing on is safe. */
  finish(): Envelope {
    return this.result();
  }

  result(): Envelope {
    const count = this.total === 0 ? 0 : this.bucket + 1;
    return { samplesPerBucket: this.samplesPerBucket, sampleCount: this.total, peaks: this.peaks.slice(0, count) };
  }

  private merge(): void {
    const p = this.peaks;
    const half = this.capacity / 2;
    for (let k = 0; k < half; k++) {
      const a = p[2 * k]!;
      const b = p[2 * k + 1]!;
      p[k] = a > b ? a : b;
    }
    p.fill(0, half);
    this.samplesPerBucket *= 2;
  }
}

// --- bytea encoding -------------------------------------------------------
// 16-byte header, then little-endian uint16 peaks:
//   0 u8 version (1) | 1..3 zero | 4 u32le samplesPerBucket | 8 u64le sampleCount
const ENVELOPE_VERSION = 1;
const HEADER_BYTES = 16;

function checkShape(e: Envelope, fail: (msg: string) => Error): void {
  const { samplesPerBucket: spb, sampleCount: n, peaks } = e;
  if (!Number.isInteger(spb) || spb < 1 || spb > 0xffff_ffff) throw fail(`samplesPerBucket must be 1..2^32-1, got ${spb}`);
  if (!Number.isSafeInteger(n) || n < 0) throw fail(`sampleCount must be a non-negative safe integer, got ${n}`);
  const expected = Math.ceil(n / spb);
  if (peaks.length !== expected) throw fail(`expected ${expected} peaks for ${n} samples at ${spb} per bucket, got ${peaks.length}`);
  for (let i = 0; i < peaks.length; i++) {
    if (peaks[i]! > 32767) throw fail(`peak ${i} is ${peaks[i]}, above 32767`);
  }
}

export function encodeEnvelope(e: Envelope): Buffer {
  checkShape(e, (m) => new RangeError(`encodeEnvelope: ${m}`));
  const out = Buffer.alloc(HEADER_BYTES + 2 * e.peaks.length);
  out.writeUInt8(ENVELOPE_VERSION, 0);
  out.writeUInt32LE(e.samplesPerBucket, 4);
  out.writeBigUInt64LE(BigInt(e.sampleCount), 8);
  for (let i = 0; i < e.peaks.length; i++) out.writeUInt16LE(e.peaks[i]!, HEADER_BYTES + 2 * i);
  return out;
}

export function decodeEnvelope(b: Buffer): Envelope {
  const fail = (m: string) => new Error(`malformed waveform envelope: ${m}`);
  if (b.length < HEADER_BYTES) throw fail(`${b.length} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const version = b.readUInt8(0);
  if (version !== ENVELOPE_VERSION) throw fail(`unknown version ${version} (expected ${ENVELOPE_VERSION})`);
  if (b[1] !== 0 || b[2] !== 0 || b[3] !== 0) throw fail('reserved header bytes are not zero');
  if ((b.length - HEADER_BYTES) % 2 !== 0) throw fail('odd number of peak bytes');
  const big = b.readBigUInt64LE(8);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`sampleCount ${big} is not a safe integer`);
  const peaks = new Uint16Array((b.length - HEADER_BYTES) / 2);
  for (let i = 0; i < peaks.length; i++) peaks[i] = b.readUInt16LE(HEADER_BYTES + 2 * i);
  const e: Envelope = { samplesPerBucket: b.readUInt32LE(4), sampleCount: Number(big), peaks };
  checkShape(e, fail);
  return e;
}

// --- bars ------------------------------------------------------------------

/**
 * Index of the bucket edge nearest to sample position i*S/bars (ties go up).
 * Bucket edges sit at k*spb for k < B and at S for k = B (the last bucket may
 * be partial). Integer arithmetic throughout: i*S*2 stays far below 2^53.
 */
function nearestEdge(i: number, bars: number, e: Envelope): number {
  const S = e.sampleCount;
  const spb = e.samplesPerBucket;
  const B = e.peaks.length;
  const num = i * S; // position = num / bars
  if (num >= S * bars) return B;
  let k = Math.floor(num / (bars * spb));
  while (k > 0 && k * spb * bars > num) k--; // guard the float division
  while ((k + 1) * spb * bars <= num) k++;
  const lower = k * spb;
  const upper = k === B - 1 ? S : (k + 1) * spb;
  return 2 * num < bars * (lower + upper) ? k : k + 1;
}

/**
 * The contract's waveform: bar i is the peak of samples [i*S/bars, (i+1)*S/bars),
 * its edges snapped to the nearest bucket edge; a bar narrower than a bucket
 * takes the bucket holding its midpoint. Linear, loudest bar = 100, all 0 for silence.
 */
export function waveformBars(e: Envelope, bars: number): number[] {
  if (!Number.isInteger(bars) || bars < 1 || bars > MAX_WAVEFORM_BARS) {
    throw new RangeError(`bars must be an integer in 1..${MAX_WAVEFORM_BARS}, got ${bars}`);
  }
  const out = new Array<number>(bars).fill(0);
  const B = e.peaks.length;
  if (e.sampleCount === 0 || B === 0) return out;
  let lo = nearestEdge(0, bars, e);
  for (let i = 0; i < bars; i++) {
    const hi = nearestEdge(i + 1, bars, e);
    let peak = 0;
    if (hi > lo) {
      for (let k = lo; k < hi; k++) if (e.peaks[k]! > peak) peak = e.peaks[k]!;
    } else {
      // midpoint (2i+1)*S/(2*bars), floored to its bucket
      const mid = Math.min(B - 1, Math.floor(((2 * i + 1) * e.sampleCount) / (2 * bars * e.samplesPerBucket)));
      peak = e.peaks[mid]!;
    }
    out[i] = peak;
    lo = hi;
  }
  const loudest = Math.max(...out);
  if (loudest === 0) return out.fill(0);
  return out.map((p) => Math.round((p * 100) / loudest));
}
