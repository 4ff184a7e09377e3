// The OPUS_OGG rendition: one more output of the decode that feeds the AAC
// (contract: `renditions`), its settings chosen by measurement (BENCHMARKS.md
// findings 12): fullband CELT (`-application audio`) at complexity 5 with
// constrained VBR holds ~24 kbit/s at about half the AAC encode's CPU, and
// on the quality proxies matches `voip` at complexity 7 for half its cost.
import { execFile } from 'node:child_process';

export const OPUS_SAMPLE_RATE = 48_000;

/** Output options for the Opus branch (map and metadata drop come from the plan, as for every output). */
export function opusOutputArgs(): string[] {
  return [
    '-c:a', 'libopus', '-b:a', '24k', '-vbr', 'constrained',
    '-application', 'audio', '-compression_level', '5',
    '-ac', '1', '-ar', String(OPUS_SAMPLE_RATE), '-f', 'ogg',
  ];
}

/** Whether this ffmpeg build can encode Opus (both Debian's and the npm static build can; a custom FFMPEG_PATH may not). */
export function hasLibopus(ffmpegPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(ffmpegPath, ['-hide_banner', '-encoders'], { timeout: 10_000, env: { LANG: 'C' }, maxBuffer: 4 << 20 }, (error, stdout) => {
      resolve(!error && /^\s*A[.\w]{5}\s+libopus\s/m.test(stdout));
    });
  });
}

export const NO_LIBOPUS_WARNING =
  'this ffmpeg has no libopus encoder: OPUS_OGG renditions are skipped (assets still reach DONE, ' +
  'without that rendition). Install a build with libopus (Debian: apt-get install ffmpeg) or set FFMPEG_PATH.';
