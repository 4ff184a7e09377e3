// The stored waveform levels of an asset: `waveform/<id>/<spp>.dat|.json`
// (contract: Behaviour), written from the run step's temporary files and
// removed with the asset, by FAILED endings and by the sweep.
import type { WaveformLevelFile } from '../analysis/waveform-files.js';
import type { WaveformLevel } from '../domain/waveform-level.js';
import { waveformHeaders, waveformKey, waveformPrefix } from './keys.js';
import type { Storage } from './s3.js';

/** Stores every level in both formats; the level list to record on the asset. */
export async function storeWaveformLevels(
  storage: Pick<Storage, 'putFile'>,
  assetId: string,
  files: readonly WaveformLevelFile[],
): Promise<WaveformLevel[]> {
  // A dozen small objects (the finest .dat of two hours is ~2.5 MB): all at once.
  await Promise.all(
    files.flatMap((f) => [
      storage.putFile(waveformKey(assetId, f.samplesPerPixel, 'dat'), f.datPath, waveformHeaders('dat')),
      storage.putFile(waveformKey(assetId, f.samplesPerPixel, 'json'), f.jsonPath, waveformHeaders('json')),
    ]),
  );
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
