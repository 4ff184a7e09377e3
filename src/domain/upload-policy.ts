import { badInput } from './errors.js';

/**
 * What prepareAudioUpload accepts as a declared type (contract: Behaviour).
 * Only a first filter: the worker decides by magic bytes.
 */
const ACCEPTED_EXACT = new Set(['video/mp4', 'video/webm', 'video/ogg', 'application/ogg', 'application/octet-stream']);

/** RFC 9110 `token` characters: what a media type, a parameter name and an unquoted value are made of. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/** A quoted-string of printable ASCII (RFC 9110 allows obs-text too; storage headers do not take it). */
const QUOTED = '"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*"';
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*[ \\t]*;?[ \\t]*$`);

export function isAcceptedContentType(contentType: string): boolean {
  // It is stored, echoed and signed into the upload URL as a header: short,
  // and well-formed parameters of printable ASCII only (a non-Latin-1 or
  // control character would fail inside the storage client, a 500).
  if (contentType.length > 255 || !MEDIA_TYPE.test(contentType)) return false;
  const essence = contentType.split(';')[0]!.trim().toLowerCase();
  if (/^audio\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(essence)) return true;
  return ACCEPTED_EXACT.has(essence);
}

/**
 * Characters a filename must not hold (contract: Errors): C0 and C1 controls
 * and DEL (NUL also breaks PostgreSQL text; CR/LF forge log lines), and the
 * bidirectional overrides, embeddings and isolates that make
 * `evil\u202Egpj.exe` read as `evilexe.jpg`. The implicit marks U+200E/U+200F
 * reorder nothing on their own and occur in real right-to-left names: kept.
 */
const FORBIDDEN_FILENAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

export interface UploadRequest {
  filename: string;
  size: number;
  contentType: string;
}

/** Validates a prepareAudioUpload input; throws BAD_USER_INPUT naming the field. */
export function validateUploadRequest(input: UploadRequest, maxUploadBytes: number): void {
  if (input.filename.trim().length === 0) throw badInput('filename must not be empty', 'filename');
  if ([...input.filename].length > 255) throw badInput('filename must be at most 255 characters', 'filename');
  if (FORBIDDEN_FILENAME_CHARS.test(input.filename)) {
    throw badInput('filename must not hold control characters or bidirectional override/isolate characters', 'filename');
  }
  if (!Number.isSafeInteger(input.size) || input.size <= 0) throw badInput('size must be a positive number of bytes', 'size');
  if (input.size > maxUploadBytes) {
    throw badInput(`size ${input.size} is over the limit of ${maxUploadBytes} bytes`, 'size');
  }
  if (!isAcceptedContentType(input.contentType)) {
    throw badInput(`contentType "${input.contentType}" is not an accepted audio type (a media type of printable ASCII with well-formed parameters)`, 'contentType');
  }
}

/** Contract: waveform(bars) takes 1..1024. */
export function validateBars(bars: number): void {
  if (!Number.isInteger(bars) || bars < 1 || bars > 1024) throw badInput('bars must be from 1 to 1024', 'bars');
}
