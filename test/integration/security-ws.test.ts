// Hostile WebSocket clients against the real graphql-ws server, spoken to
// frame by frame so every close code and error is seen as sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { PREPARE, startTestApp, type TestApp } from '../helpers/app.js';

interface Raw {
  ws: WebSocket;
  /** Next message of this type (messages are queued, none is lost). */
  next(type: string, id?: string): Promise<any>;
  send(message: object): void;
  closed: Promise<{ code: number; reason: string; at: number }>;
}

/** Opens a graphql-transport-ws socket; resolves once open, or rejects with the HTTP status of a refused upgrade. */
function openRaw(t: TestApp, headers: Record<string, string> = {}): Promise<Raw> {
  const ws = new WebSocket(`${t.app.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', { headers });
  const inbox: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    inbox.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: String(reason), at: Date.now() })),
  );
  const next = async (type: string, id?: string): Promise<any> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type && (id === undefined || m.id === id));
      if (i >= 0) return inbox.splice(i, 1)[0];
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, next, send: (m) => ws.send(JSON.stringify(m)), closed }));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

async function connected(t: TestApp, token: string, headers: Record<string, string> = {}): Promise<Raw> {
  const s = await openRaw(t, headers);
  s.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
  await Promise.race([s.next('connection_ack'), s.closed.then((c) => Promise.reject(new Error(`closed ${c.code} ${c.reason}`)))]);
  return s;
}

const SUB = `subscription { assetUpdated { id status } }`;

describe('graphql-ws under attack', () => {
  let t: TestApp;
  const sockets: WebSocket[] = [];
  const track = (s: Raw) => (sockets.push(s.ws), s);
  before(async () => {
    t = await startTestApp({
      role: 'api',
      // A socket ends when HTTP would refuse its token: exp + the clock tolerance (1 s here).
      env: { WS_MAX_CONNECTIONS_PER_USER: '2', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '2', AUTH_CLOCK_TOLERANCE_SECONDS: '1' },
    });
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await t?.stop();
  });

  it('closes a socket that never sends connection_init with 4408 after 10 s', async () => {
    const s = track(await openRaw(t));
    const opened = Date.now();
    const { code, at } = await s.closed;
    assert.equal(code, 4408);
    assert.ok(at - opened >= 9_500 && at - opened < 12_000, `closed after ${at - opened} ms`);
  });

  it('closes a socket with 4403 when connection_init carries no token or a bad one', async () => {
    for (const payload of [{}, { authorization: 'Bearer not-a-jwt' }, { authorization: 'Bearer ' + 'x'.repeat(100_000) }]) {
      const s = track(await openRaw(t));
      s.send({ type: 'connection_init', payload });
      assert.equal((await s.closed).code, 4403, JSON.stringify(payload).slice(0, 50));
    }
  });

  it('ends a socket with 4403 when its token expires, instead of letting it live on', async () => {
    const s = track(await connected(t, await t.app.auth.sign('short-lived', 2)));
    s.send({ id: '1', type: 'subscribe', payload: { query: SUB } });
    const started = Date.now();
    const { code, reason } = await s.closed;
    assert.equal(code, 4403);
    assert.match(reason, /expired/);
    assert.ok(Date.now() - started < 4_500, `closed after ${Date.now() - started} ms`);
  });

  it('refuses a third connection of one user with 4429; other users and freed slots are unaffected', async () => {
    const token = await t.token('many-tabs');
    const [a] = [track(await connected(t, token)), track(await connected(t, token))];
    const third = track(await openRaw(t));
    third.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    const { code, reason } = await third.closed;
    assert.equal(code, 4429);
    assert.match(reason, /at most 2 per user/);
    track(await connected(t, await t.token('someone-else')));
    a!.ws.close();
    await a!.closed;
    await new Promise((r) => setTimeout(r, 50)); // the server's close handler runs after the client's
    track(await connected(t, token));
  });

  it('refuses a third concurrent subscription on one socket with RATE_LIMITED, keeping the others', async () => {
    const s = track(await connected(t, await t.token('sub-hoarder')));
    s.send({ id: '1', type: 'subscribe', payload: { query: SUB } });
    s.send({ id: '2', type: 'subscribe', payload: { query: SUB } });
    s.send({ id: '3', type: 'subscribe', payload: { query: SUB } });
    const refused = await s.next('error', '3');
    assert.equal(refused.payload[0].extensions.code, 'RATE_LIMITED');
    assert.equal(s.ws.readyState, WebSocket.OPEN);
    s.send({ id: '2', type: 'complete' });
    await new Promise((r) => setTimeout(r, 50));
    s.send({ id: '4', type: 'subscribe', payload: { query: `{ __typename }` } });
    assert.deepEqual((await s.next('next', '4')).payload, { data: { __typename: 'Query' } });
  });

  it('closes a socket that sends a message over 1 MiB with 1009', async () => {
    const s = track(await connected(t, await t.token('big-talker')));
    s.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }', variables: { pad: 'x'.repeat(1024 * 1024) } } });
    assert.equal((await s.closed).code, 1009);
  });

  it('refuses an upgrade from another site with 403, before any socket exists', async () => {
    await assert.rejects(openRaw(t, { origin: 'https://evil.example' }), (e: { status?: number }) => e.status === 403);
    const local = track(await openRaw(t, { origin: 'http://localhost:3000' }));
    local.ws.close();
  });

  it('applies the HTTP limits to operations sent over the socket (depth, tokens, size)', async () => {
    const s = track(await connected(t, await t.token('ws-limits')));
    const deep = `{ __schema { types { ${'fields { type { '.repeat(24)}name${' } }'.repeat(24)} } } }`;
    const dense = `{ ${Array.from({ length: 1800 }, (_, i) => `a${i.toString(36)}:__typename`).join(' ')} }`;
    const cases: [string, string, string][] = [
      ['1', deep, 'GRAPHQL_VALIDATION_FAILED'],
      ['2', dense, 'GRAPHQL_PARSE_FAILED'],
      ['3', `# ${'x'.repeat(40_000)}\n{ __typename }`, 'PAYLOAD_TOO_LARGE'],
      ['4', `mutation($i: PrepareAudioUploadInput!) { ${Array.from({ length: 60 }, (_, n) => `m${n}: prepareAudioUpload(input: $i) { uploadUrl }`).join(' ')} }`, 'GRAPHQL_VALIDATION_FAILED'],
    ];
    for (const [id, query] of cases) {
      s.send({ id, type: 'subscribe', payload: { query, variables: { i: { filename: 'a', size: 1, contentType: 'audio/mpeg' } } } });
    }
    for (const [id, , code] of cases) {
      const e = await s.next('error', id);
      assert.equal(e.payload[0].extensions.code, code, `${id}: ${JSON.stringify(e.payload)}`);
      assert.equal(e.payload[0].extensions.http, undefined);
    }
  });

  it("never shows a subscriber another owner's asset, not even when it names that asset's id", async () => {
    const [spyToken, victimToken] = [await t.token('spy'), await t.token('victim')];
    const victimAsset = (await t.gql(PREPARE, { input: { filename: 'secret.mp3', size: 10, contentType: 'audio/mpeg' } }, victimToken)).data
      .prepareAudioUpload.asset.id as string;
    const spy = track(await connected(t, spyToken));
    spy.send({ id: 'all', type: 'subscribe', payload: { query: `subscription { assetUpdated { id filename } }` } });
    spy.send({ id: 'one', type: 'subscribe', payload: { query: `subscription($id: ID) { assetUpdated(id: $id) { id filename } }`, variables: { id: victimAsset } } });
    await new Promise((r) => setTimeout(r, 100));
    await t.gql(`mutation($id: ID!) { deleteAudioAsset(id: $id) }`, { id: victimAsset }, victimToken); // a change of the victim's asset
    await t.gql(PREPARE, { input: { filename: 'victim-2.mp3', size: 10, contentType: 'audio/mpeg' } }, victimToken);
    const own = (await t.gql(PREPARE, { input: { filename: 'mine.mp3', size: 10, contentType: 'audio/mpeg' } }, spyToken)).data.prepareAudioUpload.asset.id;
    // Events arrive in commit order: once the spy's own one is in, the victim's would have been too.
    const first = await spy.next('next', 'all');
    assert.deepEqual(first.payload.data.assetUpdated, { id: own, filename: 'mine.mp3' });
    await new Promise((r) => setTimeout(r, 100));
    const seen = [];
    for (;;) {
      const more = await Promise.race([spy.next('next'), new Promise((r) => setTimeout(() => r(null), 50))]);
      if (!more) break;
      seen.push(more);
    }
    assert.deepEqual(seen, [], JSON.stringify(seen));
  });

  it('gives errors in subscription events their contract code, not a bare message', async () => {
    const token = await t.token('ws-errors');
    const s = track(await connected(t, token));
    s.send({ id: '1', type: 'subscribe', payload: { query: `subscription { assetUpdated { id waveform(bars: 5000) } }` } });
    await new Promise((r) => setTimeout(r, 100));
    await t.gql(PREPARE, { input: { filename: 'e.mp3', size: 10, contentType: 'audio/mpeg' } }, token);
    const event = await s.next('next', '1');
    assert.equal(event.payload.errors[0].extensions.code, 'BAD_USER_INPUT', JSON.stringify(event.payload));
    assert.ok(!JSON.stringify(event.payload).includes('stacktrace'));
  });
});
