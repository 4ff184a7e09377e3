// Probe behind findings §9: what storing a 2-hour M4A costs AFTER ffmpeg
// exits, the old way (our file writer's two passes, then putFile's multipart
// upload) against the streamed way (m4a-parts.ts: the payload parts are
// already stored while ffmpeg ran, so only the last part, the header part and
// CompleteMultipartUpload are left). Both into the bench's S3 server (its own
// process), alternating, five times each.
//   npm run build && node dist/bench/probes/store-tail.js
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFaststartM4a } from '../../src/media/m4a-file.js';
import { M4aPartsWriter } from '../../src/media/m4a-parts.js';
import { FILE_PART_BYTES, Storage } from '../../src/storage/s3.js';
import { S3_KEY, startS3 } from '../lib/infra.js';
import { podcastAdts, podcastMp3 } from '../lib/inputs.js';
import { median } from '../lib/stats.js';

const RATE = 44_100;
const RUNS = 5;

const adts = await podcastAdts(await podcastMp3(7200));
const s3 = await startS3();
const storage = new Storage({
  endpoint: s3.endpoint, publicEndpoint: null, bucket: s3.bucket, region: 'us-east-1',
  credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_KEY }, forcePathStyle: true,
});
const dir = await mkdtemp(path.join(tmpdir(), 'store-tail-'));
const headers = { contentType: 'audio/mp4', contentDisposition: 'inline; filename="x.m4a"' };
const timing = { durationSamples: 7200 * RATE, sampleRate: RATE, movieTimescale: RATE };
const whole: number[] = [];
const streamed: number[] = [];
try {
  for (let run = 0; run < RUNS; run++) {
    let t = performance.now();
    const out = path.join(dir, 'out.m4a');
    await writeFaststartM4a({ adtsPath: adts, outputPath: out, ...timing });
    await storage.putFile(`audio/whole-${run}.m4a`, out, headers);
    whole.push(performance.now() - t);
    await rm(out);

    // The follow phase uploads parts 2..N (during ffmpeg in the worker); only finish() is timed.
    const writer = new M4aPartsWriter({ adtsPath: adts, partBytes: FILE_PART_BYTES, startDelayMs: 0, openUpload: () => storage.openMultipart(`audio/streamed-${run}.m4a`, headers) });
    await writer.follow(new Promise((resolve) => setTimeout(resolve, 20)));
    t = performance.now();
    await writer.finish(timing);
    streamed.push(performance.now() - t);
    await writer.discard();
  }
  const [w, s] = [median(whole), median(streamed)];
  console.log(JSON.stringify({ runs: RUNS, wholeMs: whole.map(Math.round), streamedTailMs: streamed.map(Math.round), medianWholeMs: Math.round(w), medianStreamedTailMs: Math.round(s), savedMs: Math.round(w - s) }));
} finally {
  storage.close();
  await s3.stop();
  await rm(dir, { recursive: true, force: true });
}
