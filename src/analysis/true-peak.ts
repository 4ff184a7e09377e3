// True peak of mono PCM per ITU-R BS.1770-4 Annex 2: 4x oversampling with
// the Annex's 48-tap polyphase interpolator (4 phases of 12 taps), the peak
// being the largest absolute value of the oversampled signal. Pure code, fed
// in order like every analyser.

/** BS.1770-4 Annex 2, table 1: phase p interpolates the point p/4 of a sample period along. */
const PHASES: readonly Float64Array[] = [
  [0.001708984375, 0.010986328125, -0.0196533203125, 0.033203125, -0.0594482421875, 0.1373291015625,
    0.97216796875, -0.102294921875, 0.047607421875, -0.026611328125, 0.014892578125, -0.00830078125],
  [-0.0291748046875, 0.029296875, -0.0517578125, 0.089111328125, -0.16650390625, 0.465087890625,
    0.779785156250, -0.2003173828125, 0.1015625, -0.0582275390625, 0.0330810546875, -0.0189208984375],
  [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625, -0.2003173828125, 0.77978515625,
    0.465087890625, -0.16650390625, 0.089111328125, -0.0517578125, 0.029296875, -0.0291748046875],
  [-0.00830078125, 0.014892578125, -0.026611328125, 0.047607421875, -0.102294921875, 0.97216796875,
    0.1373291015625, -0.0594482421875, 0.033203125, -0.0196533203125, 0.010986328125, 0.001708984375],
].map((taps) => Float64Array.from(taps));

const [A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11] = PHASES[0]! as unknown as number[];
const [B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11] = PHASES[1]! as unknown as number[];

const TAPS = 12;
const HISTORY = TAPS - 1;
/** Samples judged together by the skip test below. */
const SPAN = 64;

/**
 * No interpolated value can exceed (largest |x| in its 12 taps) x (sum of
 * |h| of its phase): a span whose bound is at or below the running peak
 * cannot raise it and is skipped. Exact, and most spans of real audio go.
 */
const GAIN_BOUND = Math.max(...PHASES.map((h) => h.reduce((s, v) => s + Math.abs(v), 0)));

export class TruePeakMeter {
  /** The last HISTORY samples, then the current chunk. */
  private buf = new Float64Array(HISTORY + 4096);
  /** Largest absolute value seen, sample or interpolated, in 16-bit units. */
  private peak = 0;

  push(samples: Int16Array): void {
    const n = samples.length;
    if (this.buf.length < HISTORY + n) this.grow(HISTORY + n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[HISTORY + i] = samples[i]!;
    for (let start = HISTORY; start < HISTORY + n; start += SPAN) {
      const end = Math.min(start + SPAN, HISTORY + n);
      if (spanMax(buf, start - HISTORY, end) * GAIN_BOUND > this.peak) this.interpolate(start, end);
    }
    // Keep the last HISTORY samples (fewer pushed: older history shifts down).
    buf.copyWithin(0, n, n + HISTORY);
  }

  /** dBTP (0 dBTP = 16-bit full scale); -Infinity for digital silence. */
  get dbtp(): number {
    return 20 * Math.log10(this.peak / 32768);
  }

  /** The Annex's four phases written out: this loop is most of the meter's CPU where spans are not skipped. */
  private interpolate(start: number, end: number): void {
    const buf = this.buf;
    let peak = this.peak;
    let x1 = buf[start - 1]!, x2 = buf[start - 2]!, x3 = buf[start - 3]!, x4 = buf[start - 4]!;
    let x5 = buf[start - 5]!, x6 = buf[start - 6]!, x7 = buf[start - 7]!, x8 = buf[start - 8]!;
    let x9 = buf[start - 9]!, x10 = buf[start - 10]!, x11 = buf[start - 11]!;
    for (let i = start; i < end; i++) {
      const x0 = buf[i]!;
      const y0 = A0 * x0 + A1 * x1 + A2 * x2 + A3 * x3 + A4 * x4 + A5 * x5 + A6 * x6 + A7 * x7 + A8 * x8 + A9 * x9 + A10 * x10 + A11 * x11;
      const y1 = B0 * x0 + B1 * x1 + B2 * x2 + B3 * x3 + B4 * x4 + B5 * x5 + B6 * x6 + B7 * x7 + B8 * x8 + B9 * x9 + B10 * x10 + B11 * x11;
      const y2 = B11 * x0 + B10 * x1 + B9 * x2 + B8 * x3 + B7 * x4 + B6 * x5 + B5 * x6 + B4 * x7 + B3 * x8 + B2 * x9 + B1 * x10 + B0 * x11;
      const y3 = A11 * x0 + A10 * x1 + A9 * x2 + A8 * x3 + A7 * x4 + A6 * x5 + A5 * x6 + A4 * x7 + A3 * x8 + A2 * x9 + A1 * x10 + A0 * x11;
      const m = Math.max(Math.abs(x0), Math.abs(y0), Math.abs(y1), Math.abs(y2), Math.abs(y3));
      if (m > peak) peak = m;
      x11 = x10; x10 = x9; x9 = x8; x8 = x7; x7 = x6; x6 = x5; x5 = x4; x4 = x3; x3 = x2; x2 = x1; x1 = x0;
    }
    this.peak = peak;
  }

  private grow(size: number): void {
    const next = new Float64Array(size);
    next.set(this.buf.subarray(0, HISTORY));
    this.buf = next;
  }
}

function spanMax(buf: Float64Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) {
    const v = Math.abs(buf[i]!);
    if (v > m) m = v;
  }
  return m;
}
