// The checks before ffmpeg starts, on ranged reads of the stored original
// pinned to the checked version: the magic-byte gate, then the length the
// headers state (header-duration.ts), which the run holds to the TOO_LONG rule.
import { AssetErrorCode } from '../domain/asset-status.js';
import { type ReadRange, detectObjectFileType } from './gate.js';
import { headerDurationSeconds } from './header-duration.js';
import { type Failed, OriginalChangedError, failed, originalChanged, retryable } from './result.js';

export interface Checked {
  kind: 'checked';
  mime: string;
  demuxer: string;
  headerSeconds: number | null;
}

/** Bytes read from the end of an Ogg file for its last granule. */
const OGG_TAIL_BYTES = 65_536;

export async function checkOriginal(read: ReadRange, sizeBytes: number): Promise<Checked | Failed> {
  try {
    const gate = await detectObjectFileType(read, sizeBytes);
    if (!gate.ok) return { ...failed(AssetErrorCode.REJECTED_FILE_TYPE, gate.reason), detectedType: gate.detected };
    const tail = () => read(Math.max(0, sizeBytes - OGG_TAIL_BYTES), sizeBytes - 1);
    const headerSeconds = gate.head ? await headerDurationSeconds(gate.demuxer, gate.head, tail) : null;
    return { kind: 'checked', mime: gate.mime, demuxer: gate.demuxer, headerSeconds };
  } catch (e) {
    if (e instanceof OriginalChangedError) return originalChanged();
    return retryable(`could not read the original: ${e instanceof Error ? e.message : String(e)}`);
  }
}
