// Loudness normalisation as one constant gain (contract: `loudnessTarget`):
// no compressor, no limiter, no dynamic loudnorm, so the dynamics are kept.
// The gain needs the whole file's integrated loudness before the encode: the
// worker measures in one decode, then encodes with `volume=<gain>dB` in a
// second decode (only for assets that ask for a target).
import type { Loudness } from './loudness.js';

/** The ceiling a normalised file's true peak stays at or below, dBTP. */
export const MAX_NORMALISED_TRUE_PEAK_DBTP = -1;
/** Kept below the ceiling: the gained PCM is rounded to 16 bits before it is measured again. */
const QUANTISATION_MARGIN_DB = 0.01;

/**
 * The gain in dB that brings `measured` to `targetLufs`, lowered where it
 * would lift the true peak above -1 dBTP. 0 for digital silence (nothing to
 * measure, nothing to raise). Rounded down to 0.01 dB, what ffmpeg's argument carries.
 */
export function normalisationGainDb(measured: Loudness | null, targetLufs: number): number {
  if (!measured) return 0;
  const toTarget = targetLufs - measured.integrated;
  const peakRoom = MAX_NORMALISED_TRUE_PEAK_DBTP - QUANTISATION_MARGIN_DB - measured.truePeak;
  // Round down so the peak ceiling holds after rounding too.
  return Math.floor(Math.min(toTarget, peakRoom) * 100) / 100;
}

/** `volume` filter for a gain, or null when there is none to apply. */
export function gainFilter(gainDb: number): string | null {
  return gainDb === 0 ? null : `volume=${gainDb.toFixed(2)}dB`;
}
