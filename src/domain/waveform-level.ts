/**
 * One stored zoom level of an asset's waveform data, as the asset row keeps
 * it (column `waveform_levels`, jsonb) and change events carry it: a few
 * dozen bytes a level, so the NOTIFY payload stays small.
 */
export interface WaveformLevel {
  samplesPerPixel: number;
  /** Number of min/max pairs. */
  length: number;
  /** 8: values -128..127. */
  bits: 8 | 16;
}

/** The level list as stored, or null when `value` is not one (an older row, or an asset without levels). */
export function parseWaveformLevels(value: unknown): WaveformLevel[] | null {
  if (!Array.isArray(value)) return null;
  const levels: WaveformLevel[] = [];
  for (const v of value) {
    if (!v || typeof v !== 'object') return null;
    const { samplesPerPixel, length, bits } = v as Record<string, unknown>;
    if (!Number.isSafeInteger(samplesPerPixel) || (samplesPerPixel as number) < 1) return null;
    if (!Number.isSafeInteger(length) || (length as number) < 0) return null;
    if (bits !== 8 && bits !== 16) return null;
    levels.push({ samplesPerPixel: samplesPerPixel as number, length: length as number, bits });
  }
  return levels;
}
