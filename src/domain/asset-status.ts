/** Where an asset is in its life; the values are the contract's enum. */
export enum AssetStatus {
  AWAITING_UPLOAD = 'AWAITING_UPLOAD',
  QUEUED = 'QUEUED',
  PROCESSING = 'PROCESSING',
  DONE = 'DONE',
  FAILED = 'FAILED',
}

/** Why an asset FAILED; the values are the contract's enum. */
export enum AssetErrorCode {
  REJECTED_FILE_TYPE = 'REJECTED_FILE_TYPE',
  UNREADABLE_AUDIO = 'UNREADABLE_AUDIO',
  SIZE_MISMATCH = 'SIZE_MISMATCH',
  TOO_LONG = 'TOO_LONG',
  TIMEOUT = 'TIMEOUT',
  UPLOAD_EXPIRED = 'UPLOAD_EXPIRED',
  INTERNAL = 'INTERNAL',
}

/** What a user is shown for each failure: short, no internals. */
export const ASSET_ERROR_MESSAGES: Record<AssetErrorCode, string> = {
  REJECTED_FILE_TYPE: 'This file is not a supported audio format.',
  UNREADABLE_AUDIO: 'The file holds no audio that could be decoded (corrupt, truncated or video-only).',
  SIZE_MISMATCH: 'The uploaded file does not have the size that was declared.',
  TOO_LONG: 'The audio is longer than the allowed maximum duration.',
  TIMEOUT: 'Processing took longer than the allowed time.',
  UPLOAD_EXPIRED: 'The upload was not completed in time.',
  INTERNAL: 'Processing failed because of a server problem. Please upload the file again.',
};

const ALLOWED: Record<AssetStatus, readonly AssetStatus[]> = {
  AWAITING_UPLOAD: [AssetStatus.QUEUED, AssetStatus.FAILED],
  QUEUED: [AssetStatus.PROCESSING, AssetStatus.FAILED],
  // PROCESSING -> PROCESSING: a retry of the same job after a crash.
  PROCESSING: [AssetStatus.PROCESSING, AssetStatus.DONE, AssetStatus.FAILED],
  DONE: [],
  FAILED: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: AssetStatus,
    readonly to: AssetStatus,
  ) {
    super(`illegal asset status transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: AssetStatus, to: AssetStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The one gate every status change passes: returns `to` or throws. */
export function transition(from: AssetStatus, to: AssetStatus): AssetStatus {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
  return to;
}

export function isFinal(status: AssetStatus): boolean {
  return ALLOWED[status].length === 0;
}

/** Statuses a given status may have come from (used in guarded UPDATE … WHERE status IN …). */
export function predecessorsOf(to: AssetStatus): AssetStatus[] {
  return (Object.keys(ALLOWED) as AssetStatus[]).filter((from) => ALLOWED[from].includes(to));
}
