// What one job makes besides the M4A, decided from what the asset asked for
// (prepareAudioUpload's renditions) and what this ffmpeg can do: the extra
// outputs of the media plan, the files to store, and what the row records.
import path from 'node:path';
import type { Loudness } from '../analysis/loudness.js';
import type { LoudnessColumns } from '../domain/asset.js';
import { RenditionFormat } from '../domain/processing-options.js';
import { opusHeaders, opusKey } from '../storage/keys.js';
import { opusOutputArgs } from './opus.js';

export interface RenditionFile {
  format: RenditionFormat;
  /** ffmpeg's codec and muxer options for its graph pad (media plan's extra output). */
  args: string[];
  /** Where ffmpeg writes it, in the job's temp dir. */
  path: string;
  key: string;
  contentType: string;
  contentDisposition: string;
}

export interface RenditionPlan {
  files: RenditionFile[];
  /** Asked for but not made: this ffmpeg lacks the encoder. */
  skipped: RenditionFormat[];
}

/** The renditions of one job, in a fixed order; `libopus`: the ffmpeg in use has the encoder. */
export function planRenditions(assetId: string, requested: readonly string[], workDir: string, libopus: boolean): RenditionPlan {
  const files: RenditionFile[] = [];
  const skipped: RenditionFormat[] = [];
  if (requested.includes(RenditionFormat.OPUS_OGG)) {
    if (!libopus) skipped.push(RenditionFormat.OPUS_OGG);
    else {
      files.push({
        format: RenditionFormat.OPUS_OGG, args: opusOutputArgs(), path: path.join(workDir, 'audio.ogg'),
        key: opusKey(assetId), ...opusHeaders(assetId),
      });
    }
  }
  return { files, skipped };
}

/** The loudness columns a Done records: all three, or all null (silence). */
export function loudnessFields(l: Loudness | null): LoudnessColumns {
  // Stored rounded to 0.01: finer digits are below any meter's accuracy and only make payloads longer.
  const r = (v: number) => Math.round(v * 100) / 100;
  return l
    ? { loudnessIntegrated: r(l.integrated), loudnessRange: r(l.range), loudnessTruePeak: r(l.truePeak) }
    : { loudnessIntegrated: null, loudnessRange: null, loudnessTruePeak: null };
}
