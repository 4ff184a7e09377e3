// Issue 25 item 4: reads priced for what they cost. Waveforms of a list come
// from one batched envelope query per request, whatever the aliases, against
// real PostgreSQL through the real schema and resolvers.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type GraphQLSchema, execute, parse } from 'graphql';
import type pg from 'pg';
import { AssetRepository } from '../../src/db/asset.repository.js';
import { type Orm, openOrm } from '../../src/db/orm.js';
import { createPool } from '../../src/db/pool.js';
import { encodeCursor } from '../../src/domain/asset.js';
import { PeakReducer, encodeEnvelope } from '../../src/analysis/peaks.js';
import { buildAppSchema } from '../../src/resolvers/index.js';
import type { GraphQLContext } from '../../src/schema/context.js';
import { GRAPHQL_LIMITS, operationComplexity } from '../../src/server/limits.js';
import { AssetsService } from '../../src/services/assets.service.js';
import type { Storage } from '../../src/storage/s3.js';
import { type TestDatabase, testDatabase } from '../helpers/services.js';

const ASSETS = 400;

/** An envelope whose loudest bucket is the asset's index + 1 of 400, so each asset's bars differ. */
function envelopeFor(i: number): Buffer {
  const r = new PeakReducer();
  const pcm = new Int16Array(44_100);
  for (let k = 0; k < pcm.length; k++) pcm[k] = k < 22_050 ? 100 : Math.round(((i + 1) / ASSETS) * 30_000);
  r.push(pcm);
  return encodeEnvelope(r.result());
}

describe('waveform reads are batched per request', () => {
  let db: TestDatabase;
  let orm: Orm;
  let pool: pg.Pool;
  let schema: GraphQLSchema;
  let service: AssetsService;
  let cursors: string[];

  before(async () => {
    db = await testDatabase();
    orm = await openOrm(db.url);
    pool = createPool(db.url);
    schema = await buildAppSchema();
    // This test resolves no URL: storage is never called.
    service = new AssetsService(new AssetRepository(orm, pool), {} as Storage, { playbackUrlTtlSeconds: 3600 });
    const ids: string[] = [];
    for (let i = 0; i < ASSETS; i++) ids.push(crypto.randomUUID());
    await pool.query(
      `insert into audio_asset (id, owner_id, status, filename, size, content_type, duration_seconds, envelope, upload_expires_at, created_at)
       select id, 'alice', 'DONE', 'a.mp3', 1000, 'audio/mpeg', 1, env, now(), now() - make_interval(secs => n)
         from unnest($1::uuid[], $2::bytea[]) with ordinality as t(id, env, n)`,
      [ids, ids.map((_, i) => envelopeFor(i))],
    );
    const { rows } = await pool.query<{ id: string; created_at: Date }>(
      `select id, created_at from audio_asset order by created_at desc, id desc`,
    );
    cursors = [0, 100, 200, 300].map((n) => (n === 0 ? '' : encodeCursor({ createdAt: rows[n - 1]!.created_at, id: rows[n - 1]!.id })));
  });

  after(async () => {
    await pool.end();
    await orm.close();
    await db.drop();
  });

  const query = (c: string[]) => `{
    a: assets(first: 100${c[0] ? `, after: "${c[0]}"` : ''}) { nodes { id waveform } }
    b: assets(first: 100${c[1] ? `, after: "${c[1]}"` : ''}) { nodes { id waveform } }
    c: assets(first: 100${c[2] ? `, after: "${c[2]}"` : ''}) { nodes { id waveform(bars: 2) } }
    d: assets(first: 100${c[3] ? `, after: "${c[3]}"` : ''}) { nodes { id chatWaveform(format: TELEGRAM) { values } } }
  }`;

  async function run(text: string) {
    const context = { viewer: { id: 'alice', expiresAt: null }, authError: null, assets: service } as unknown as GraphQLContext;
    const result = await execute({ schema, document: parse(text), contextValue: context });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data as Record<string, { nodes: { id: string; waveform?: number[]; chatWaveform?: { values: number[] } }[] }>;
  }

  it('answers four aliased assets(first: 100) { nodes { waveform } } over 400 assets with at most four envelope queries', async () => {
    const text = query(cursors);
    assert.ok(operationComplexity(schema, parse(text), {}, null)! <= GRAPHQL_LIMITS.maxComplexity, 'within the complexity budget');
    const before = service.envelopes.reads;
    const data = await run(text);
    assert.ok(service.envelopes.reads - before <= 4, `${service.envelopes.reads - before} envelope queries`);
    const nodes = [...data['a']!.nodes, ...data['b']!.nodes, ...data['c']!.nodes, ...data['d']!.nodes];
    assert.equal(new Set(nodes.map((n) => n.id)).size, ASSETS);
    // Each asset's own envelope: first half quiet, second half its own level; the loudest is 100.
    assert.deepEqual(data['c']!.nodes[0]!.waveform, [Math.round((100 * 100) / Math.round((200 / 400) * 30_000)), 100]);
    assert.ok(data['d']!.nodes.every((n) => n.chatWaveform!.values.length === 100));
  });

  it('reads an envelope once per request however many aliases ask for it, and not again once cached', async () => {
    const fresh = new AssetsService(new AssetRepository(orm, pool), {} as Storage, { playbackUrlTtlSeconds: 3600 });
    service = fresh;
    const same = query(['', '', '', '']);
    await run(same);
    assert.equal(fresh.envelopes.reads, 1, 'one query for 400 waveforms of the same 100 assets');
    await run(same);
    assert.equal(fresh.envelopes.reads, 1, 'the envelopes of DONE assets are cached');
  });
});
