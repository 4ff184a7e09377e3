// Real PostgreSQL and S3 for integration tests. Each test file runs in its own
// process under `node --test`; these helpers give it its own database and
// bucket, and leave nothing running or on disk when the process ends.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/embedded/postgres.js';
import { startEmbeddedS3 } from '../../src/embedded/s3.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** s3rver's files (deleted by stop()). */
  directory: string;
  client: S3Client;
  /** The s3rver process now (replaced when it dies). */
  pid(): number | undefined;
  listKeys(): Promise<string[]>;
  stop(): Promise<void>;
}

const uniqueName = (prefix: string, sep: string) => `${prefix}${sep}${process.pid}${sep}${randomBytes(4).toString('hex')}`;

/**
 * A fresh, empty database. With DATABASE_URL it is created on that server
 * (the URL's user must be allowed to CREATE DATABASE); without it, on one
 * embedded PostgreSQL shared by this process. `embedded: true` forces the latter.
 */
export async function testDatabase(opts: { embedded?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = opts.embedded ? undefined : process.env.DATABASE_URL;
  if (adminUrl) return createDatabase(adminUrl, async () => {});
  const server = await acquireEmbedded();
  try {
    return await createDatabase(server.url, releaseEmbedded);
  } catch (err) {
    await releaseEmbedded();
    throw err;
  }
}

async function createDatabase(adminUrl: string, afterDrop: () => Promise<void>): Promise<TestDatabase> {
  const name = uniqueName('t', '_');
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  const drop = () =>
    (dropping ??= (async () => {
      try {
        // FORCE (PostgreSQL 13+) terminates the database's sessions (pools the
        // test forgot to close) and refuses new ones in the same step.
        await withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
      } finally {
        await afterDrop();
      }
    })());
  return { url: url.toString(), drop };
}

/** One statement on a fresh connection (closed afterwards). */
export function query(url: string, sql: string): Promise<pg.QueryResult> {
  return withClient(url, (c) => c.query(sql));
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// One embedded server per process, started on first use and stopped when its
// last database is dropped. If the process dies first, the server's watchdog
// stops it and deletes its data dir (see startEmbeddedPostgres `ephemeral`).
let embedded: Promise<EmbeddedPostgres> | undefined;
let embeddedUsers = 0;
let embeddedCount = 0;

async function acquireEmbedded(): Promise<EmbeddedPostgres> {
  embeddedUsers++;
  const dataDir = path.join(tmpdir(), `pg-test-${process.pid}-${++embeddedCount}`);
  embedded ??= startEmbeddedPostgres({ dataDir, database: 'postgres', ephemeral: true });
  try {
    return await embedded;
  } catch (err) {
    embeddedUsers--;
    embedded = undefined;
    throw err;
  }
}

async function releaseEmbedded(): Promise<void> {
  if (--embeddedUsers > 0 || embedded === undefined) return;
  const server = embedded;
  embedded = undefined;
  await (await server).stop();
}

// s3rver's process ends with this one (its IPC channel closes); only its
// files need a synchronous last-chance cleanup.
const s3Dirs = new Set<string>();
process.on('exit', () => {
  for (const dir of s3Dirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh s3rver on a free port, with its own directory and a unique bucket. */
export async function testS3(): Promise<TestS3> {
  const directory = await mkdtemp(path.join(tmpdir(), 's3-test-'));
  s3Dirs.add(directory);
  const bucket = uniqueName('t', '-');
  const server = await startEmbeddedS3({ directory, bucket }).catch(async (err: unknown) => {
    await rm(directory, { recursive: true, force: true });
    throw err;
  });
  const client = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    // SDK defaults store streamed bodies with their chunk framing on s3rver (STACK.md).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  let stopping: Promise<void> | undefined;
  return {
    ...server,
    bucket,
    directory,
    client,
    listKeys: () => listKeys(client, bucket),
    stop: () =>
      (stopping ??= (async () => {
        client.destroy();
        await server.stop();
        await rm(directory, { recursive: true, force: true });
        s3Dirs.delete(directory);
      })()),
  };
}

async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}
