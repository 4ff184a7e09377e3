import { AssetErrorCode } from './asset-status.js';

/**
 * What happened to one processing attempt, and what follows from it: the
 * one place that decides between "the file's fault: fail now" and "our
 * fault: retry with backoff" (issue: faults table).
 */
export type AttemptEvent =
  | { kind: 'rejected-type' }
  | { kind: 'unreadable' }
  | { kind: 'too-long' }
  | { kind: 'timeout' }
  | { kind: 'stalled' }
  | { kind: 'limit-hit' }
  | { kind: 'storage-unavailable' }
  | { kind: 'killed-by-signal' }
  | { kind: 'aborted' }
  | { kind: 'internal' };

export type Decision = { action: 'fail'; code: AssetErrorCode } | { action: 'retry' };

export function decide(event: AttemptEvent, attempt: { retryCount: number; retryLimit: number }): Decision {
  switch (event.kind) {
    case 'rejected-type':
      return { action: 'fail', code: AssetErrorCode.REJECTED_FILE_TYPE };
    case 'unreadable':
    case 'stalled':
    case 'limit-hit':
      return { action: 'fail', code: AssetErrorCode.UNREADABLE_AUDIO };
    case 'too-long':
      return { action: 'fail', code: AssetErrorCode.TOO_LONG };
    case 'timeout':
      return { action: 'fail', code: AssetErrorCode.TIMEOUT };
    case 'storage-unavailable':
    case 'killed-by-signal':
    case 'aborted':
    case 'internal':
      return attempt.retryCount < attempt.retryLimit ? { action: 'retry' } : { action: 'fail', code: AssetErrorCode.INTERNAL };
  }
}

/** Lines ffmpeg prints when the storage, not the file, is the problem. */
const STORAGE_TROUBLE =
  /Server returned 5\d\d|HTTP error 5\d\d|Connection refused|Connection reset|Connection timed out|Network is unreachable|Operation timed out|Server returned 403|Failed to resolve hostname/i;

/** Classifies a failed ffmpeg run from what is known about it (pure). */
export function classifyFfmpegFailure(r: {
  exitCode: number | null;
  signal: string | null;
  stalled: boolean;
  limitHit: boolean;
  stderrTail: string;
}): AttemptEvent {
  if (r.limitHit) return { kind: 'limit-hit' };
  if (STORAGE_TROUBLE.test(r.stderrTail)) return { kind: 'storage-unavailable' };
  if (r.stalled) return { kind: 'stalled' };
  if (r.signal) return { kind: 'killed-by-signal' };
  return { kind: 'unreadable' };
}
