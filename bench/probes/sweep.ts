// The sweep against a big bucket: N small objects in an s3rver bucket (and
// their asset rows), then the per-minute run (work found in the database,
// deletes by key) and the daily listing. Prints one JSON line.
//   npm run build && node dist/bench/probes/sweep.js [objects=100000]
// DATABASE_URL: an admin URL (a database is created and dropped).
import 'reflect-metadata';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { AssetRepository } from '../../src/db/asset.repository.js';
import { openOrm } from '../../src/db/orm.js';
import { createLogger } from '../../src/log.js';
import { SweepService } from '../../src/services/sweep.service.js';
import { S3_KEY, benchDatabase, benchStorage, startS3 } from '../lib/infra.js';

const total = Number(process.argv[2] ?? 100_000);
// The bucket's mix: results of DONE assets; uploads still awaited; uploads
// abandoned (expired: the minute run fails them); originals of ended assets
// whose URL expired a minute ago (deleted by key); orphans only a listing finds.
const mix = { done: 0.9, awaiting: 0.05, abandoned: 0.03, late: 0.015, orphans: 0.005 };

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function seedRows(db: pg.Pool): Promise<Record<'done' | 'awaiting' | 'abandoned' | 'late', string[]>> {
  const insert = async (n: number, status: string, expires: string) =>
    (await db.query<{ id: string }>(
      `insert into audio_asset (id, owner_id, status, filename, size, content_type, upload_expires_at)
       select gen_random_uuid(), 'bench-' || (i % 500), $2, 'a.mp3', 16, 'audio/mpeg', ${expires}
       from generate_series(1, $1::int) i returning id`,
      [Math.round(n), status],
    )).rows.map((r) => r.id);
  return {
    // Upload windows spread over the last 30 days.
    done: await insert(total * mix.done, 'DONE', `now() - (i % 43200) * interval '1 minute' - interval '10 minutes'`),
    awaiting: await insert(total * mix.awaiting, 'AWAITING_UPLOAD', `now() + interval '10 minutes'`),
    abandoned: await insert(total * mix.abandoned, 'AWAITING_UPLOAD', `now() - interval '2 hours'`),
    late: await insert(total * mix.late, 'FAILED', `now() - interval '1 minute'`),
  };
}

async function putAll(client: S3Client, bucket: string, keys: string[]): Promise<void> {
  let next = 0;
  const body = Buffer.alloc(16, 1);
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }
  }));
}

const db = await benchDatabase(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
const s3 = await startS3();
const orm = await openOrm(db.url);
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
try {
  const credentials = { accessKeyId: S3_KEY, secretAccessKey: S3_KEY };
  const storage = benchStorage(s3);
  const client = new S3Client({
    endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true,
    // s3rver knows no aws-chunked trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const rows = await seedRows(pool);
  const keys = [
    ...rows.done.map((id) => `audio/${id}.m4a`),
    ...[...rows.awaiting, ...rows.abandoned, ...rows.late].map((id) => `uploads/${id}`),
    ...Array.from({ length: Math.round(total * mix.orphans) }, () => `uploads/${crypto.randomUUID()}`),
  ];
  let t = process.hrtime.bigint();
  await putAll(client, s3.bucket, keys);
  const putMs = ms(t);
  await pool.query('analyze audio_asset');

  const plan = (await pool.query(
    `explain (analyze, buffers) select id from audio_asset where status in ('DONE','FAILED')
       and upload_expires_at >= now() - interval '5 minutes' and upload_expires_at < now() order by id limit 100`,
  )).rows.map((r) => r['QUERY PLAN'] as string);

  const sweep = new SweepService(new AssetRepository(orm, pool), storage, { uploadExpiryGraceSeconds: 60 });
  const log = createLogger('warn');
  t = process.hrtime.bigint();
  const minute = await sweep.run(log);
  const minuteMs = ms(t);
  t = process.hrtime.bigint();
  await sweep.run(log);
  const idleMinuteMs = ms(t);
  t = process.hrtime.bigint();
  // s3rver 3.7 builds a truncated ListObjectsV2 page's continuation token
  // with crypto.createCipher, which Node 22 removed: past 1,000 keys under a
  // prefix the listing fails there (real S3 and MinIO are not affected).
  const daily = await sweep.run(log, { full: true }).catch((e: Error) => ({ orphansDeleted: [], error: e.message }));
  const dailyMs = ms(t);
  console.log(JSON.stringify({
    objects: keys.length, rows: Object.values(rows).reduce((n, r) => n + r.length, 0), putMs: Math.round(putMs),
    minute: { ms: Math.round(minuteMs), expired: minute.expired, lateUploadsDeleted: minute.lateUploadsDeleted },
    idleMinuteMs: Math.round(idleMinuteMs),
    daily: {
      ms: Math.round(dailyMs), listed: keys.length - minute.expired - minute.lateUploadsDeleted, orphansDeleted: daily.orphansDeleted.length,
      ...('error' in daily ? { error: daily.error } : {}),
    },
    lateQueryPlan: plan,
  }, null, 1));
} finally {
  await pool.end();
  await orm.close();
  await s3.stop();
  await db.drop();
}
