// What an uploader may ask of processing besides the M4A (contract:
// PrepareAudioUploadInput.loudnessTarget and renditions), checked once at
// prepareAudioUpload and stored with the asset for the worker.
import { badInput } from './errors.js';

export enum RenditionFormat {
  OPUS_OGG = 'OPUS_OGG',
}

export const LOUDNESS_TARGET_MIN_LUFS = -40;
export const LOUDNESS_TARGET_MAX_LUFS = -5;

export interface ProcessingOptions {
  /** Integrated loudness to normalise to, LUFS; null keeps the loudness as it is. */
  loudnessTarget: number | null;
  /** Further encodings, each once, in a fixed order. */
  renditions: RenditionFormat[];
}

/** Validates and normalises the options; BAD_USER_INPUT naming the field. */
export function parseProcessingOptions(input: { loudnessTarget?: number | null; renditions?: readonly string[] | null }): ProcessingOptions {
  const target = input.loudnessTarget ?? null;
  if (target !== null && !(Number.isFinite(target) && target >= LOUDNESS_TARGET_MIN_LUFS && target <= LOUDNESS_TARGET_MAX_LUFS)) {
    throw badInput(`loudnessTarget must be from ${LOUDNESS_TARGET_MIN_LUFS} to ${LOUDNESS_TARGET_MAX_LUFS} LUFS`, 'loudnessTarget');
  }
  const known = Object.values(RenditionFormat) as string[];
  for (const r of input.renditions ?? []) {
    if (!known.includes(r)) throw badInput(`unknown rendition ${JSON.stringify(r)}`, 'renditions');
  }
  const asked = new Set(input.renditions ?? []);
  return { loudnessTarget: target, renditions: Object.values(RenditionFormat).filter((r) => asked.has(r)) };
}
