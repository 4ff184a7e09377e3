import path from 'node:path';
import type { Config } from './config/config.js';
import type { Logger } from './log.js';
import type { StorageOptions } from './storage/s3.js';

export interface Infrastructure {
  databaseUrl: string;
  storage: StorageOptions;
  stop(): Promise<void>;
}

/**
 * Resolves where PostgreSQL and S3 are: what the config names, or embedded
 * servers (data under DATA_DIR) for whatever it leaves unset, so that
 * `npm start` needs nothing but npm.
 */
export async function resolveInfrastructure(config: Config, log: Logger): Promise<Infrastructure> {
  const stops: (() => Promise<void>)[] = [];
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      // Loaded only when used: production processes never load the embedded servers.
      const { startEmbeddedPostgres } = await import('./embedded/postgres.js');
      const pg = await startEmbeddedPostgres({
        dataDir: path.join(config.dataDir, 'postgres'),
        log: (msg) => log.debug({ component: 'embedded-postgres' }, msg),
      });
      stops.push(pg.stop);
      databaseUrl = pg.url;
      log.info({ url: databaseUrl.replace(/:[^:@/]*@/, ':***@') }, 'embedded PostgreSQL started (DATABASE_URL unset)');
    }
    let storage: StorageOptions;
    if (config.s3.endpoint) {
      const creds =
        config.s3.accessKeyId && config.s3.secretAccessKey
          ? { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey }
          : null;
      storage = {
        endpoint: config.s3.endpoint === 'aws' ? null : config.s3.endpoint,
        publicEndpoint: config.s3.publicEndpoint,
        bucket: config.s3.bucket,
        region: config.s3.region,
        credentials: creds,
        forcePathStyle: config.s3.forcePathStyle,
      };
    } else {
      const { startEmbeddedS3 } = await import('./embedded/s3.js');
      const s3 = await startEmbeddedS3({
        directory: path.join(config.dataDir, 's3'),
        bucket: config.s3.bucket,
        log: (msg: string) => log.debug({ component: 'embedded-s3' }, msg),
      });
      stops.push(s3.stop);
      storage = {
        endpoint: s3.endpoint,
        publicEndpoint: null,
        bucket: config.s3.bucket,
        region: config.s3.region,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        forcePathStyle: true,
      };
      log.info({ endpoint: s3.endpoint }, 'embedded S3 server started (S3_ENDPOINT unset)');
    }
    return {
      databaseUrl,
      storage,
      async stop() {
        for (const stop of stops.reverse()) await stop().catch(() => {});
      },
    };
  } catch (e) {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    throw e;
  }
}
