// Compatibility with the real consumers of waveform data: waveform-data.js
// (what peaks.js uses) parses every level, binary and JSON, and the values
// match an independent reference decode.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WaveformLevelsAnalyser } from '../../src/analysis/waveform-files.js';
import { checkLevels, makeSwellWav, readLevelFiles, referencePcm } from '../helpers/waveform-reference.js';

describe('waveform data read by waveform-data.js', () => {
  let dir: string;
  let pcm: Int16Array;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'waveform-data-'));
    await makeSwellWav(path.join(dir, 'swell.wav'));
    pcm = await referencePcm(path.join(dir, 'swell.wav'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('parses every level the analyser writes, within one pixel of the duration and one step of the reference', async () => {
    const analyser = new WaveformLevelsAnalyser(dir);
    // In the run step's chunk sizes, more or less: odd lengths included.
    for (let i = 0; i < pcm.length; i += 16_381) analyser.push(pcm.subarray(i, i + 16_381));
    const files = await analyser.finish();
    assert.deepEqual(files.map((f) => f.samplesPerPixel), [256, 1024, 4096]);
    await checkLevels(await readLevelFiles(files), pcm, pcm.length);
  });
});
