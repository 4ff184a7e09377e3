import { badInput } from './errors.js';

/**
 * What prepareAudioUpload accepts as a declared type (contract: Behaviour).
 * Only a first filter: the worker decides by magic bytes.
 */
const ACCEPTED_EXACT = new Set(['video/mp4', 'video/webm', 'video/ogg', 'application/ogg', 'application/octet-stream']);

export function isAcceptedContentType(contentType: string): boolean {
  // It is stored, echoed and signed into the upload URL: short and printable only.
  if (contentType.length > 255 || /[\u0000-\u001f\u007f]/.test(contentType)) return false;
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  if (/^audio\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(essence)) return true;
  return ACCEPTED_EXACT.has(essence);
}

export interface UploadRequest {
  filename: string;
  size: number;
  contentType: string;
}

/** Validates a prepareAudioUpload input; throws BAD_USER_INPUT naming the field. */
export function validateUploadRequest(input: UploadRequest, maxUploadBytes: number): void {
  if (input.filename.trim().length === 0) throw badInput('filename must not be empty', 'filename');
  if ([...input.filename].length > 255) throw badInput('filename must be at most 255 characters', 'filename');
  if (!Number.isSafeInteger(input.size) || input.size <= 0) throw badInput('size must be a positive number of bytes', 'size');
  if (input.size > maxUploadBytes) {
    throw badInput(`size ${input.size} is over the limit of ${maxUploadBytes} bytes`, 'size');
  }
  if (!isAcceptedContentType(input.contentType)) {
    throw badInput(`contentType "${input.contentType}" is not an audio type`, 'contentType');
  }
}

/** Contract: waveform(bars) takes 1..1024. */
export function validateBars(bars: number): void {
  if (!Number.isInteger(bars) || bars < 1 || bars > 1024) throw badInput('bars must be from 1 to 1024', 'bars');
}
