// The pure parts of the operations endpoints: /healthz caching and status,
// the /metrics token check, the loopback rules of development auth.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost } from '../../src/config/auth.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { hostnameOf } from '../../src/server/dev-routes.js';
import { cachedHealth, checkHealth } from '../../src/server/health.js';
import { isMetricsAuthorized } from '../../src/server/metrics-access.js';

describe('/healthz', () => {
  it('is 503 when a backend fails, 200 ok otherwise, and degraded (still 200) when only an advisory fails', async () => {
    const ok = async () => {};
    const down = async () => {
      throw new Error('down');
    };
    assert.deepEqual(await checkHealth({ checks: { database: ok, storage: ok } }), { httpStatus: 200, body: { status: 'ok' } });
    assert.deepEqual(await checkHealth({ checks: { database: down, storage: ok } }), { httpStatus: 503, body: { status: 'unavailable' } });
    assert.deepEqual(await checkHealth({ checks: { database: ok }, advisories: { jwks: () => false } }), { httpStatus: 200, body: { status: 'degraded' } });
    const slow = () => new Promise<void>(() => {});
    assert.equal((await checkHealth({ checks: { queue: slow }, timeoutMs: 20 })).httpStatus, 503);
  });

  it('names no dependency in its answer', async () => {
    const report = await checkHealth({ checks: { database: async () => Promise.reject(new Error('ECONNREFUSED 10.0.0.5:5432')) } });
    assert.deepEqual(Object.keys(report.body), ['status']);
  });

  it('pings the backends at most once per two seconds, however many probes arrive, and shares one probe in flight', async () => {
    let pings = 0;
    let healthy = true;
    const clock = { ms: 0 };
    const health = cachedHealth({
      checks: {
        database: async () => {
          pings++;
          if (!healthy) throw new Error('down');
        },
      },
      now: () => clock.ms,
    });
    await Promise.all(Array.from({ length: 50 }, () => health()));
    assert.equal(pings, 1);
    healthy = false;
    clock.ms = 1999;
    assert.equal((await health()).httpStatus, 200, 'the cached answer');
    assert.equal(pings, 1);
    clock.ms = 2000;
    assert.equal((await health()).httpStatus, 503);
    assert.equal(pings, 2);
  });
});

describe('/metrics access', () => {
  it('takes only the exact bearer token, and nothing without one configured', () => {
    const token = 'metrics-token-0123456789';
    assert.equal(isMetricsAuthorized(`Bearer ${token}`, token), true);
    assert.equal(isMetricsAuthorized(`bearer ${token}`, token), true);
    for (const header of [undefined, '', token, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, 'Bearer ']) {
      assert.equal(isMetricsAuthorized(header, token), false, String(header));
    }
    assert.equal(isMetricsAuthorized('Bearer anything', null), false);
  });

  it('reads the queue once for both gauges and for every scrape within a second', async () => {
    let reads = 0;
    const metrics = new Metrics({
      queueStats: async () => {
        reads++;
        return { queued: 3, active: 2 };
      },
    });
    const texts = await Promise.all(Array.from({ length: 10 }, () => metrics.text()));
    assert.match(texts[0]!, /^audio_queue_depth 3$/m);
    assert.match(texts[0]!, /^audio_queue_active_jobs 2$/m);
    assert.equal(reads, 1);
    await metrics.text();
    assert.equal(reads, 1, 'a scrape right after is served from the same read');
  });
});

describe('development auth: loopback only', () => {
  it('knows loopback addresses and names from everything else', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', 'localhost', 'LOCALHOST', '::1', '[::1]', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '127.0.0.1.evil.example', 'localhost.evil.example', 'evil.example', '', '1.127.0.0.1']) {
      assert.equal(isLoopbackHost(h), false, h);
    }
  });

  it('reads the hostname of a Host header, port or not, IPv6 in brackets', () => {
    assert.equal(hostnameOf('127.0.0.1:4000'), '127.0.0.1');
    assert.equal(hostnameOf('localhost'), 'localhost');
    assert.equal(hostnameOf('[::1]:4000'), '[::1]');
    assert.equal(hostnameOf('evil.example:4000'), 'evil.example');
    assert.equal(hostnameOf(undefined), null);
    assert.equal(hostnameOf('a:b:c'), null);
  });
});
