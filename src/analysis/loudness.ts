// A BS.1770-4 / EBU R128 loudness meter of the mono 44.1 kHz PCM the AAC
// encoder is fed (contract: `loudness`), as a PcmAnalyser: K-weighting by
// the two BS.1770 biquads, 100 ms sub-block energies kept (8 bytes per 100 ms:
// 1.2 MB for 4 hours), gated statistics at finish(), 4x oversampled true peak.
import { ANALYSIS_SAMPLE_RATE, type PcmAnalyser } from './analyser.js';
import {
  SUB_BLOCKS_PER_BLOCK, SUB_BLOCKS_PER_SHORT_TERM, integratedLoudness, loudnessRange, windowPowers,
} from './loudness-gating.js';
import { TruePeakMeter } from './true-peak.js';

export interface Loudness {
  /** Integrated loudness, LUFS. */
  integrated: number;
  /** Loudness range, LU. */
  range: number;
  /** True peak, dBTP. */
  truePeak: number;
}

interface Biquad {
  b0: number; b1: number; b2: number; a1: number; a2: number;
}

/**
 * The K-weighting pre-filter (high shelf, +4 dB) and RLB high-pass for any
 * sample rate, from their analogue prototypes (the parameters libebur128 and
 * ffmpeg use; at 48 kHz they give BS.1770's published coefficients).
 */
export function kWeighting(sampleRate: number): [Biquad, Biquad] {
  let K = Math.tan((Math.PI * 1681.974450955533) / sampleRate);
  let Q = 0.7071752369554196;
  const Vh = 10 ** (3.999843853973347 / 20);
  const Vb = Vh ** 0.4996667741545416;
  let a0 = 1 + K / Q + K * K;
  const shelf = {
    b0: (Vh + (Vb * K) / Q + K * K) / a0, b1: (2 * (K * K - Vh)) / a0, b2: (Vh - (Vb * K) / Q + K * K) / a0,
    a1: (2 * (K * K - 1)) / a0, a2: (1 - K / Q + K * K) / a0,
  };
  K = Math.tan((Math.PI * 38.13547087602444) / sampleRate);
  Q = 0.5003270373238773;
  a0 = 1 + K / Q + K * K;
  const highPass = { b0: 1, b1: -2, b2: 1, a1: (2 * (K * K - 1)) / a0, a2: (1 - K / Q + K * K) / a0 };
  return [shelf, highPass];
}

const SUB_BLOCK_SAMPLES = ANALYSIS_SAMPLE_RATE / 10;
/** Sums of squares are taken on 16-bit values; this brings them to full scale = 1. */
const FULL_SCALE_SQUARED = 32768 * 32768;

export class LoudnessMeter implements PcmAnalyser<Loudness | null> {
  private readonly shelf: Biquad;
  private readonly highPass: Biquad;
  /** Filter state: two values per stage. */
  private s = new Float64Array(4);
  private subBlocks = new Float64Array(1024);
  private subBlockCount = 0;
  private sum = 0;
  private filled = 0;
  private readonly peak = new TruePeakMeter();

  constructor() {
    [this.shelf, this.highPass] = kWeighting(ANALYSIS_SAMPLE_RATE);
  }

  push(samples: Int16Array): void {
    const { b0, b1, b2, a1, a2 } = this.shelf;
    const { a1: c1, a2: c2 } = this.highPass;
    const s = this.s;
    // Transposed direct form II: two state values per stage.
    let s1 = s[0]!, s2 = s[1]!, t1 = s[2]!, t2 = s[3]!;
    let { sum, filled } = this;
    for (let i = 0; i < samples.length; i++) {
      const x = samples[i]!;
      const y = b0 * x + s1;
      s1 = b1 * x - a1 * y + s2;
      s2 = b2 * x - a2 * y;
      // RLB high-pass: b = [1, -2, 1].
      const z = y + t1;
      t1 = -2 * y - c1 * z + t2;
      t2 = y - c2 * z;
      sum += z * z;
      if (++filled === SUB_BLOCK_SAMPLES) {
        this.addSubBlock(sum / (SUB_BLOCK_SAMPLES * FULL_SCALE_SQUARED));
        sum = 0;
        filled = 0;
      }
    }
    s[0] = s1; s[1] = s2; s[2] = t1; s[3] = t2;
    this.sum = sum;
    this.filled = filled;
    this.peak.push(samples);
  }

  /** Null for digital silence (or anything below the absolute gate, or shorter than one 400 ms block). */
  finish(): Loudness | null {
    const blocks = windowPowers(this.subBlocks, this.subBlockCount, SUB_BLOCKS_PER_BLOCK);
    const integrated = integratedLoudness(blocks);
    if (integrated === null) return null;
    const shortTerm = windowPowers(this.subBlocks, this.subBlockCount, SUB_BLOCKS_PER_SHORT_TERM);
    return { integrated, range: loudnessRange(shortTerm), truePeak: this.peak.dbtp };
  }

  private addSubBlock(meanSquare: number): void {
    if (this.subBlockCount === this.subBlocks.length) {
      const next = new Float64Array(this.subBlocks.length * 2);
      next.set(this.subBlocks);
      this.subBlocks = next;
    }
    this.subBlocks[this.subBlockCount++] = meanSquare;
  }
}
