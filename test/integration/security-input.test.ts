// Hostile input to prepareAudioUpload through the real server: filenames
// with NUL, control or bidi-override characters, content types with
// non-ASCII parameters (single and multipart paths), and an insert that
// fails after validation: all BAD_USER_INPUT or an error, nothing left
// behind in the database or the storage. The storage is reached through a
// recording proxy, so "nothing was created there" is seen, not assumed.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PREPARE, type TestApp, startTestApp } from '../helpers/app.js';
import { type TestS3, testS3 } from '../helpers/services.js';

const MIB = 1024 * 1024;

/** Forwards every request to the S3 server unchanged (Host included, so signatures hold), noting method and URL. */
async function recordingProxy(target: string): Promise<{ url: string; requests: string[]; stop(): Promise<void> }> {
  const requests: string[] = [];
  const to = new URL(target);
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.once('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('prepareAudioUpload refuses hostile input and leaves nothing behind', () => {
  let t: TestApp;
  let s3: TestS3;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  const prepare = (input: Record<string, unknown>) => t.gql(PREPARE, { input: { filename: 'a.mp3', size: 1000, contentType: 'audio/mpeg', ...input } });
  const codeOf = (r: Awaited<ReturnType<typeof prepare>>) => r.errors?.[0]?.extensions?.code ?? 'ok';
  const rows = async () => {
    const c = new pg.Client({ connectionString: t.db.url });
    await c.connect();
    try {
      return (await c.query('select filename from audio_asset')).rows.map((r) => r.filename as string);
    } finally {
      await c.end();
    }
  };

  before(async () => {
    s3 = await testS3();
    proxy = await recordingProxy(s3.endpoint);
    t = await startTestApp({
      role: 'api',
      s3: { ...s3, endpoint: proxy.url },
      env: { MULTIPART_THRESHOLD_BYTES: String(5 * MIB), MULTIPART_PART_BYTES: String(5 * MIB) },
    });
  });
  after(async () => {
    await t?.stop();
    await proxy?.stop();
    await s3?.stop();
  });

  it('answers a NUL, control or bidi-override character in a filename with BAD_USER_INPUT, storing nothing', async () => {
    for (const filename of ['a\u0000b.mp3', 'line\r\nbreak.mp3', 'bell\u0007.mp3', 'del\u007f.mp3', 'c1\u0085.mp3', 'evil\u202Egpj.exe', 'iso\u2067late.mp3']) {
      for (const size of [1000, 6 * MIB]) {
        const r = await prepare({ filename, size });
        assert.equal(codeOf(r), 'BAD_USER_INPUT', `${JSON.stringify(filename)} ${size}: ${JSON.stringify(r.errors)}`);
        assert.equal(r.errors![0]!.extensions!.field, 'filename');
      }
    }
    assert.deepEqual(await rows(), []);
  });

  it('answers a content type with non-Latin-1 or malformed parameters with BAD_USER_INPUT on the single and the multipart path', async () => {
    const before = proxy.requests.length;
    for (const contentType of ['audio/mpeg; name="日本語"', 'audio/mpeg; x=é', 'audio/mpeg;\r\nX-Amz-Acl: public-read', 'audio/webm; codecs']) {
      for (const size of [1000, 6 * MIB]) {
        const r = await prepare({ contentType, size });
        assert.equal(codeOf(r), 'BAD_USER_INPUT', `${JSON.stringify(contentType)} ${size}: ${JSON.stringify(r.errors)}`);
        assert.equal(r.errors![0]!.extensions!.field, 'contentType');
      }
    }
    assert.deepEqual(proxy.requests.slice(before), [], 'the storage was never asked');
    assert.deepEqual(await rows(), []);
  });

  it('creates no multipart upload when the asset row cannot be inserted', async () => {
    const admin = new pg.Client({ connectionString: t.db.url });
    await admin.connect();
    try {
      // An insert that fails after validation passed (as a full disk or a lost connection would).
      await admin.query(`alter table audio_asset add constraint test_refuses_this_name check (filename <> 'refused-by-the-database.mp3')`);
      const before = proxy.requests.length;
      const refused = await prepare({ filename: 'refused-by-the-database.mp3', size: 6 * MIB });
      assert.ok(refused.errors, 'the insert failed');
      assert.deepEqual(proxy.requests.slice(before).filter((r) => /[?&]uploads/.test(r)), [], 'no CreateMultipartUpload reached the storage');
      assert.deepEqual(await rows(), []);

      // The same request with an insertable name: one multipart upload, recorded on its row.
      const ok = await prepare({ filename: 'accepted.mp3', size: 6 * MIB });
      assert.equal(codeOf(ok), 'ok', JSON.stringify(ok.errors));
      const p = ok.data.prepareAudioUpload;
      assert.equal(p.multipart.partSize, 5 * MIB);
      assert.equal(proxy.requests.slice(before).filter((r) => /^POST .*[?&]uploads/.test(r)).length, 1);
      const row = await admin.query('select multipart_upload_id from audio_asset where id = $1', [p.asset.id]);
      assert.ok(row.rows[0]?.multipart_upload_id, 'the upload id is on the row, where the sweep finds it');
    } finally {
      await admin.query('alter table audio_asset drop constraint if exists test_refuses_this_name');
      await admin.end();
    }
  });
});
