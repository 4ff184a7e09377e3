import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/embedded/postgres.js';
import { freePort } from '../../src/embedded/free-port.js';
import { makeAudio } from '../helpers/fixtures.js';
import { COMPLETE, collect, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/processes.js';

describe('PostgreSQL outage', () => {
  let pgDir: string;
  let server: EmbeddedPostgres;
  let port: number;
  let t: TestApp;
  let fixtures: string;
  before(async () => {
    pgDir = await mkdtemp(path.join(tmpdir(), 'outage-pg-'));
    await chmod(pgDir, 0o755); // as root, PostgreSQL runs as the postgres user: it must reach its data dir
    fixtures = await mkdtemp(path.join(tmpdir(), 'outage-fx-'));
    port = await freePort();
    server = await startEmbeddedPostgres({ dataDir: path.join(pgDir, 'data'), port });
    t = await startTestApp({ db: { url: server.url, drop: async () => {} } });
  });
  after(async () => {
    await t?.stop();
    await server?.stop();
    await rm(pgDir, { recursive: true, force: true });
    await rm(fixtures, { recursive: true, force: true });
  });

  it('answers 503 and clear errors while the database is down, and recovers by itself when it is back', async () => {
    const ws = t.ws(await t.token());
    const file = await makeAudio(fixtures, { kind: 'wav', seconds: 1 });

    await server.stop();
    const down = await fetch(`${t.app.url}/healthz`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { status: 'unavailable' });
    const r = await t.gql(`{ assets { nodes { id } } }`);
    assert.equal(r.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE', JSON.stringify(r.errors));

    server = await startEmbeddedPostgres({ dataDir: path.join(pgDir, 'data'), port });
    await waitFor('/healthz 200', async () => (await fetch(`${t.app.url}/healthz`)).ok, 20_000);

    // LISTEN is re-established: a subscription made now sees the whole life of an upload.
    const id = await prepareAndPut(t, file, { contentType: 'audio/wav' });
    const sub = collect<{ assetUpdated: { status: string } }>(ws, `subscription($id: ID) { assetUpdated(id: $id) { status } }`, { id }, (e) => ['DONE', 'FAILED'].includes(e.assetUpdated.status), 30_000);
    await sub.ready;
    await t.gql(COMPLETE, { id });
    const events = await sub.done;
    assert.deepEqual([events[0]!.assetUpdated.status, events.at(-1)!.assetUpdated.status], ['QUEUED', 'DONE']);
  });
});
