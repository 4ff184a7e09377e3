// Operations endpoints on the public port: /metrics is not for anonymous
// requests (a token, or a separate METRICS_PORT), on API and worker nodes
// alike; /healthz tells its status and nothing else.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/embedded/free-port.js';
import { METRICS_HEADERS, type TestApp, startTestApp } from '../helpers/app.js';
import { type TestDatabase, type TestS3, testDatabase, testS3 } from '../helpers/services.js';

describe('operations endpoints', () => {
  let db: TestDatabase;
  let s3: TestS3;
  let api: TestApp;
  let worker: TestApp;
  let metricsPort: number;
  before(async () => {
    [db, s3] = await Promise.all([testDatabase(), testS3()]);
    metricsPort = await freePort();
    api = await startTestApp({ role: 'api', db, s3, env: { METRICS_PORT: String(metricsPort) } });
    worker = await startTestApp({ role: 'worker', db, s3, tmpDir: api.tmpDir });
  });
  after(async () => {
    await worker?.stop();
    await api?.stop();
    await s3?.stop();
    await db?.drop();
  });

  it('serves no /metrics to anonymous requests or a wrong token on the public port, API or worker', async () => {
    for (const t of [api, worker]) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Basic ${METRICS_HEADERS.authorization.slice(7)}` }]) {
        const res = await fetch(`${t.app.url}/metrics`, { headers });
        assert.equal(res.status, 404, `${t.app.url} ${JSON.stringify(headers)}`);
        assert.doesNotMatch(await res.text(), /audio_|process_cpu/);
      }
    }
  });

  it('serves /metrics on the public port to the bearer of METRICS_TOKEN', async () => {
    for (const t of [api, worker]) {
      const res = await fetch(`${t.app.url}/metrics`, { headers: METRICS_HEADERS });
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^audio_queue_depth \d+/m);
    }
  });

  it('serves /metrics without a token on METRICS_PORT, a separate listener on HOST, and nothing else there', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^audio_queue_depth \d+/m);
    assert.match(text, /^audio_ws_connections \d+/m);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/graphql`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status, 404);
  });

  it('answers /healthz with its status only, on API and worker nodes', async () => {
    for (const t of [api, worker]) {
      const res = await fetch(`${t.app.url}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    }
  });
});
