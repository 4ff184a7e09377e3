/**
 * Storage keys are made from the server's asset id only (contract: Behaviour):
 * the client's filename never reaches a key or a path.
 */
import { isAssetId } from '../domain/asset.js';

function checkId(id: string): string {
  if (!isAssetId(id)) throw new Error(`not an asset id: ${JSON.stringify(id)}`);
  return id;
}

export const UPLOAD_PREFIX = 'uploads/';
export const OUTPUT_PREFIX = 'audio/';

export const WAVEFORM_PREFIX = 'waveform/';

export const uploadKey = (id: string) => `${UPLOAD_PREFIX}${checkId(id)}`;
export const outputKey = (id: string) => `${OUTPUT_PREFIX}${checkId(id)}.m4a`;
/** The OPUS_OGG rendition (contract: `audio/<id>.ogg`). */
export const opusKey = (id: string) => `${OUTPUT_PREFIX}${checkId(id)}.ogg`;

/** Every object an asset may have by a fixed key: its original and its M4A (its waveform levels are listed under waveformPrefix). */
export const assetObjectKeys = (id: string) => [uploadKey(id), outputKey(id), opusKey(id)];
export type WaveformFormat = 'dat' | 'json';

/** Every waveform level of an asset is under this prefix (deleted by listing it). */
export const waveformPrefix = (id: string) => `${WAVEFORM_PREFIX}${checkId(id)}/`;

/** One zoom level of the waveform data, in audiowaveform's binary (`dat`) or JSON format. */
export function waveformKey(id: string, samplesPerPixel: number, format: WaveformFormat): string {
  if (!Number.isSafeInteger(samplesPerPixel) || samplesPerPixel < 1) throw new Error(`not a samples-per-pixel value: ${samplesPerPixel}`);
  return `${waveformPrefix(id)}${samplesPerPixel}.${format}`;
}

/** How a waveform level is served: audiowaveform's formats have no registered types of their own. */
export const waveformHeaders = (format: WaveformFormat) => ({
  contentType: format === 'json' ? 'application/json' : 'application/octet-stream',
});

/** The asset id a key belongs to, or null for a key that is none of ours. */
export function assetIdOfKey(key: string): string | null {
  const m = /^(?:uploads\/([^/]+)|audio\/([^/]+)\.(?:m4a|ogg)|waveform\/([^/]+)\/[1-9][0-9]{0,15}\.(?:dat|json))$/.exec(key);
  const id = m?.[1] ?? m?.[2] ?? m?.[3];
  // What an asset id looks like is decided in one place: domain/asset.ts.
  return id !== undefined && isAssetId(id) ? id : null;
}

/** A safe, server-made download name for Content-Disposition. */
const outputDownloadName = (id: string) => `audio-${checkId(id)}.m4a`;

/** How the M4A is stored and served (contract: `Content-Type: audio/mp4`), under the server-made name. */
export const outputHeaders = (id: string) => ({
  contentType: 'audio/mp4',
  contentDisposition: `inline; filename="${outputDownloadName(id)}"`,
});

/** How the Opus rendition is stored and served: `audio/ogg`, under a server-made name. */
export const opusHeaders = (id: string) => ({
  contentType: 'audio/ogg',
  contentDisposition: `inline; filename="audio-${checkId(id)}.ogg"`,
});
