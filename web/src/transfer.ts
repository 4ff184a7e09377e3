// Pure helpers of the upload loop: retry delays and the speed / time-left
// estimate shown while bytes go out.

/** Exponential backoff with jitter: ~1 s, 2 s, 4 s, 8 s ... at most 30 s. */
export function backoffMs(attempt: number, random = Math.random()): number {
  return Math.min(30_000, 1000 * 2 ** attempt) * (0.75 + random * 0.5);
}

/** Attempts per part before the upload is reported failed (the page can resume it later). */
export const PART_ATTEMPTS = 5;

export interface TransferEstimate {
  /** Bytes a second over the recent window; null until there is enough to say. */
  bytesPerSecond: number | null;
  secondsLeft: number | null;
}

/**
 * Speed over the last `windowMs` of samples, so a stall shows at once and an
 * early burst (the first bytes fill socket buffers) is forgotten.
 */
export class TransferMeter {
  private samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** `bytes`: sent by this page so far (not counting parts stored before a reload). */
  sample(bytes: number, at: number): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }

  estimate(remainingBytes: number): TransferEstimate {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 500) return { bytesPerSecond: null, secondsLeft: null };
    // A retried part starts over, so the count can step back: no negative speeds.
    const bytesPerSecond = Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
    return { bytesPerSecond, secondsLeft: bytesPerSecond > 0 ? remainingBytes / bytesPerSecond : null };
  }
}
