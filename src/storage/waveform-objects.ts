// The stored waveform levels of an asset: `waveform/<id>/<spp>.dat|.json`
// (contract: Behaviour), uploaded from the run step's temporary files with
// the other outputs and removed with the asset, by FAILED endings and by the
// sweep.
import type { WaveformLevelFile } from '../analysis/waveform-files.js';
import type { WaveformLevel } from '../domain/waveform-level.js';
import type { OutputFile } from '../media/result.js';
import { assetObjectKeys, waveformHeaders, waveformKey, waveformPrefix } from './keys.js';
import type { Storage } from './s3.js';

/** Every level in both formats, as files for the run step to store. */
export function waveformOutputs(assetId: string, files: readonly WaveformLevelFile[]): OutputFile[] {
  return files.flatMap((f) => [
    { key: waveformKey(assetId, f.samplesPerPixel, 'dat'), path: f.datPath, ...waveformHeaders('dat') },
    { key: waveformKey(assetId, f.samplesPerPixel, 'json'), path: f.jsonPath, ...waveformHeaders('json') },
  ]);
}

/** The objects a recorded level list stands for: each level in both formats (as waveformOutputs stores them). */
export function waveformObjectKeys(assetId: string, levels: readonly Pick<WaveformLevel, 'samplesPerPixel'>[]): string[] {
  return levels.flatMap((l) => [waveformKey(assetId, l.samplesPerPixel, 'dat'), waveformKey(assetId, l.samplesPerPixel, 'json')]);
}

/** The level list the asset records (a few dozen bytes a level). */
export function waveformLevelsOf(files: readonly WaveformLevelFile[]): WaveformLevel[] {
  return files.map((f) => ({ samplesPerPixel: f.samplesPerPixel, length: f.length, bits: f.bits }));
}

/** Deletes every waveform object of an asset, listed rather than taken from the row: a run that ended half-way may have left some. */
export async function deleteWaveformObjects(storage: Pick<Storage, 'listKeys' | 'delete'>, assetId: string): Promise<number> {
  let n = 0;
  for await (const { key } of storage.listKeys(waveformPrefix(assetId))) {
    await storage.delete(key);
    n++;
  }
  return n;
}

/** Deletes every object of an asset: those with a fixed key, and its waveform levels, listed. */
export async function deleteAssetObjects(storage: Pick<Storage, 'listKeys' | 'delete'>, assetId: string): Promise<void> {
  await Promise.all([...assetObjectKeys(assetId).map((key) => storage.delete(key)), deleteWaveformObjects(storage, assetId)]);
}
