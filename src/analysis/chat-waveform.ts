// Voice-message waveforms in chat apps' own formats (contract:
// `chatWaveform`): the bars of `waveform` (peaks.ts waveformBars, 0..100,
// loudest = 100) rescaled to each app's range and count.
import { type Envelope, waveformBars } from './peaks.js';

export type ChatFormat = 'DISCORD' | 'TELEGRAM' | 'MATRIX';

export interface ChatWaveformValues {
  format: ChatFormat;
  values: number[];
  /** The app's wire form of the values, base64; null where the app sends the list itself (Matrix). */
  encoded: string | null;
}

/** Discord: one value per 100 ms, at most 256 values (spread evenly over longer audio), 0..255. */
export const DISCORD_VALUES_PER_SECOND = 10;
export const DISCORD_MAX_VALUES = 256;
/** Telegram: 100 values of 5 bits (0..31). */
export const TELEGRAM_VALUES = 100;
export const TELEGRAM_BITS = 5;
/** Matrix (MSC3246, `org.matrix.msc1767.audio.waveform`): 100 values 0..1024, as Element sends. */
export const MATRIX_VALUES = 100;
export const MATRIX_MAX = 1024;

/** Discord's value count for a duration: ten a second, at least one, at most 256. */
export function discordValueCount(durationSeconds: number): number {
  return Math.max(1, Math.min(DISCORD_MAX_VALUES, Math.round(durationSeconds * DISCORD_VALUES_PER_SECOND)));
}

/** Bars 0..100 rescaled to 0..max, so the loudest bar (100) becomes max. */
export function rescaleBars(bars: readonly number[], max: number): number[] {
  return bars.map((b) => Math.round((b * max) / 100));
}

/**
 * 5-bit values packed least significant bit first: value i occupies bits
 * 5i..5i+4 of the byte string read as one little-endian bit stream
 * (ceil(5n / 8) bytes).
 */
export function packFiveBit(values: readonly number[]): Buffer {
  const out = Buffer.alloc(Math.ceil((values.length * TELEGRAM_BITS) / 8));
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > 31) throw new RangeError(`a 5-bit value must be 0..31, got ${v}`);
    const bit = i * TELEGRAM_BITS;
    const word = v << (bit % 8);
    out[bit >> 3]! |= word & 0xff;
    if (word > 0xff) out[(bit >> 3) + 1]! |= word >> 8;
  });
  return out;
}

/** `durationSeconds`: the asset's duration, which sets Discord's value count. */
export function chatWaveform(envelope: Envelope, format: ChatFormat, durationSeconds: number): ChatWaveformValues {
  switch (format) {
    case 'DISCORD': {
      const count = discordValueCount(durationSeconds);
      const values = rescaleBars(waveformBars(envelope, count), 255);
      return { format, values, encoded: Buffer.from(values).toString('base64') };
    }
    case 'TELEGRAM': {
      const values = rescaleBars(waveformBars(envelope, TELEGRAM_VALUES), 31);
      return { format, values, encoded: packFiveBit(values).toString('base64') };
    }
    case 'MATRIX':
      return { format, values: rescaleBars(waveformBars(envelope, MATRIX_VALUES), MATRIX_MAX), encoded: null };
  }
}
