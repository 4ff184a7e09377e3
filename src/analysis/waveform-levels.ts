// Zoom levels of min/max pairs in BBC audiowaveform's 8-bit format, from the
// mono 44.1 kHz s16 PCM the run step decodes (contract: `waveformData`).
// Pure code with constant memory: pairs leave through a PairSink as soon as
// they are complete; the file adapter (waveform-files.ts) writes them out.

/** Samples per pixel of the finest level. */
export const FINEST_SAMPLES_PER_PIXEL = 256;
/** Each level has this many times the samples per pixel of the one before. */
export const LEVEL_FACTOR = 4;
/** The last level is the first with at most this many pairs. */
export const MAX_COARSEST_PAIRS = 4096;

/**
 * A 16-bit sample as an 8-bit value: divided by 256, truncated toward zero
 * (C integer division, as audiowaveform does: -255 -> 0, -256 -> -1).
 */
export function toInt8(sample: number): number {
  return (sample / 256) | 0;
}

/** Pairs needed for `samples` samples at `samplesPerPixel` (the last partial pair included). */
export function pairCount(samples: number, samplesPerPixel: number): number {
  return Math.ceil(samples / samplesPerPixel);
}

/** Samples per pixel of every level for a signal of `samples` samples, finest first. */
export function levelPlan(samples: number): number[] {
  const plan = [FINEST_SAMPLES_PER_PIXEL];
  while (pairCount(samples, plan.at(-1)!) > MAX_COARSEST_PAIRS) plan.push(plan.at(-1)! * LEVEL_FACTOR);
  return plan;
}

/** Where a level's pairs go, in order: 8-bit values, min <= max. */
export interface PairSink {
  pair(min: number, max: number): void;
}

export interface LevelSummary {
  samplesPerPixel: number;
  /** Number of pairs. */
  length: number;
}

/**
 * One level's emitted pairs: to its sink, and to the next coarser level once
 * this one has more than MAX_COARSEST_PAIRS (only then is a coarser level
 * needed). The first MAX_COARSEST_PAIRS pairs are kept (8 KiB) so a coarser
 * level made late still sees every pair from the start.
 */
class Level {
  readonly first = new Int8Array(2 * MAX_COARSEST_PAIRS);
  length = 0;
  coarser: CoarserLevel | null = null;

  constructor(
    readonly samplesPerPixel: number,
    private readonly sink: PairSink,
    private readonly open: (samplesPerPixel: number) => PairSink,
  ) {}

  emit(min: number, max: number): void {
    this.sink.pair(min, max);
    const n = this.length++;
    if (n < MAX_COARSEST_PAIRS) {
      this.first[2 * n] = min;
      this.first[2 * n + 1] = max;
      return;
    }
    if (!this.coarser) {
      const spp = this.samplesPerPixel * LEVEL_FACTOR;
      this.coarser = new CoarserLevel(spp, this.open(spp), this.open);
      for (let i = 0; i < MAX_COARSEST_PAIRS; i++) this.coarser.accept(this.first[2 * i]!, this.first[2 * i + 1]!);
    }
    this.coarser.accept(min, max);
  }

  /** Flushes the partial pairs of the coarser levels, finest first; every level's summary. */
  finishChain(): LevelSummary[] {
    const own = { samplesPerPixel: this.samplesPerPixel, length: this.length };
    if (!this.coarser) return [own];
    this.coarser.flush();
    return [own, ...this.coarser.finishChain()];
  }
}

/** A level made from LEVEL_FACTOR pairs of the finer one: min of mins, max of maxes (truncation is monotonic). */
class CoarserLevel extends Level {
  private min = 127;
  private max = -128;
  private filled = 0;

  accept(min: number, max: number): void {
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    if (++this.filled === LEVEL_FACTOR) this.flush();
  }

  flush(): void {
    if (this.filled === 0) return;
    this.emit(this.min, this.max);
    this.min = 127;
    this.max = -128;
    this.filled = 0;
  }
}

/**
 * The level pyramid: pair i of the finest level covers samples
 * [i*256, (i+1)*256), the last partial pair flushed at finish(); coarser
 * levels are opened (through `open`) as the length requires, down to the
 * first with at most MAX_COARSEST_PAIRS pairs (levelPlan()).
 */
export class WaveformLevelsReducer {
  private readonly finest: Level;
  /** Running 16-bit min/max of the pair being filled, and how many samples it holds. */
  private min = 32767;
  private max = -32768;
  private filled = 0;

  constructor(open: (samplesPerPixel: number) => PairSink) {
    this.finest = new Level(FINEST_SAMPLES_PER_PIXEL, open(FINEST_SAMPLES_PER_PIXEL), open);
  }

  push(samples: Int16Array): void {
    const spp = FINEST_SAMPLES_PER_PIXEL;
    let { min, max, filled } = this;
    let i = 0;
    while (i < samples.length) {
      const end = Math.min(samples.length, i + (spp - filled));
      for (let j = i; j < end; j++) {
        const s = samples[j]!;
        if (s < min) min = s;
        if (s > max) max = s;
      }
      filled += end - i;
      i = end;
      if (filled === spp) {
        this.finest.emit(toInt8(min), toInt8(max));
        min = 32767;
        max = -32768;
        filled = 0;
      }
    }
    this.min = min;
    this.max = max;
    this.filled = filled;
  }

  /** Flushes every partial pair; the levels, finest first. Call once. */
  finish(): LevelSummary[] {
    if (this.filled > 0) this.finest.emit(toInt8(this.min), toInt8(this.max));
    this.filled = 0;
    return this.finest.finishChain();
  }
}
