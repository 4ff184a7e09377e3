// The one ending of "process one audio file": Done or Failed. Every step of
// the media stage returns one of these; the orchestrator maps it to the
// asset once (services/processing.service.ts). A Failed says whether the file
// is at fault (fail now) or we are (retry while attempts remain, then INTERNAL).
import { ASSET_ERROR_MESSAGES, AssetErrorCode } from '../domain/asset-status.js';

/** A file to store for a finished asset: its key, its local path (in the job's temp dir), its headers. */
export interface OutputFile {
  key: string;
  path: string;
  contentType: string;
  contentDisposition?: string;
}

export interface Done<Analyses extends readonly unknown[] = readonly unknown[]> {
  kind: 'done';
  /** Samples decoded at the output rate: the duration's only source. */
  samples: number;
  durationSeconds: number;
  /** The finished M4A (ffmpeg's own mp4 muxer, faststart). */
  m4aPath: string;
  /** Each analyser's result, in the order the analysers were given. */
  analyses: Analyses;
}

export interface Failed {
  kind: 'failed';
  code: AssetErrorCode;
  /** What the gate saw in a refused file (recorded on the asset). */
  detectedType?: string | null;
  /** For logs; users see ASSET_ERROR_MESSAGES[code]. */
  message: string;
  /** Our fault (storage, a crash, a stop): try again while attempts remain. */
  retryable: boolean;
}

export type MediaResult<Analyses extends readonly unknown[] = readonly unknown[]> = Done<Analyses> | Failed;

export const failed = (code: AssetErrorCode, message: string = ASSET_ERROR_MESSAGES[code]): Failed =>
  ({ kind: 'failed', code, message, retryable: false });

/** Our fault: retried with backoff; INTERNAL once no attempt remains. */
export const retryable = (message: string): Failed => ({ kind: 'failed', code: AssetErrorCode.INTERNAL, message, retryable: true });

/**
 * Room for priming and padding frames that a header's count includes (an
 * MPEG-2.5 frame is 72 ms): a file of a length at the limit is never refused.
 */
export const TOO_LONG_TOLERANCE_SECONDS = 0.25;

/** The one TOO_LONG rule: header lengths and the decoded count all go through here. */
export function isTooLong(seconds: number, maxDurationSeconds: number): boolean {
  return seconds > maxDurationSeconds + TOO_LONG_TOLERANCE_SECONDS;
}

export const tooLong = (seconds: number, maxDurationSeconds: number): Failed =>
  failed(AssetErrorCode.TOO_LONG, `${seconds.toFixed(1)} s of audio, over the limit of ${maxDurationSeconds} s`);

/** The stored original is not the version that was checked: a second PUT replaced it. */
export class OriginalChangedError extends Error {}

/**
 * A second PUT after completion: the checked audio is gone, and what is
 * there now was never checked, so it is not processed. UNREADABLE_AUDIO,
 * not REJECTED_FILE_TYPE: no type was judged, the audio that passed the
 * checks can no longer be read.
 */
export const originalChanged = (): Failed => failed(AssetErrorCode.UNREADABLE_AUDIO, 'the original changed after it was checked');
