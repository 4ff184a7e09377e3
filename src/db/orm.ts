import pg from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { AudioAssetEntity } from './audio-asset.entity.js';
import { Migration20261125000001 } from './migrations/Migration20261125000001.js';
import { Migration20261125000002 } from './migrations/Migration20261125000002.js';
import { Migration20261206000022 } from './migrations/Migration20261206000022.js';
import { Migration20261206000030 } from './migrations/Migration20261206000030.js';
import { Migration20261206190001 } from './migrations/Migration20261206190001.js';
import { Migration20261206200001 } from './migrations/Migration20261206200001.js';
import { Migration20261207000001 } from './migrations/Migration20261207000001.js';

export type Orm = MikroORM;

const MIGRATION_LOCK_KEY = 7_264_031_905;

/** Connects and applies pending migrations (never schema.update(): it drops unknown tables). */
export async function openOrm(databaseUrl: string, options: { poolMax?: number } = {}): Promise<Orm> {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    entities: [AudioAssetEntity],
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: true },
    pool: { min: 0, max: options.poolMax ?? 10 },
    debug: false,
    migrations: {
      tableName: 'mikro_orm_migrations',
      migrationsList: [
        { name: 'Migration20261125000001', class: Migration20261125000001 },
        { name: 'Migration20261125000002', class: Migration20261125000002 },
        { name: 'Migration20261206000022', class: Migration20261206000022 },
        { name: 'Migration20261206000030', class: Migration20261206000030 },
        { name: 'Migration20261206190001', class: Migration20261206190001 },
        { name: 'Migration20261206200001', class: Migration20261206200001 },
        { name: 'Migration20261207000001', class: Migration20261207000001 },
      ],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
  });
  await migrateExclusively(databaseUrl, () => orm.migrator.up());
  return orm;
}

/**
 * Several processes (API nodes, workers) may start at once against one
 * database: a session-level advisory lock lets exactly one migrate at a time.
 */
async function migrateExclusively(databaseUrl: string, migrate: () => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'audio-service/migrate' });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await migrate();
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await client.end();
  }
}
