// What the service serves to browsers: the web app at `/` and the bundled
// GraphiQL at GET /graphql (Accept: text/html), both loading only from their
// own origin (the explorer must work with no internet), and neither in the way
// of /graphql for API clients, /healthz or /dev/token.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.js';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

const getHtml = (url: string) => fetch(url, { headers: { accept: BROWSER_ACCEPT } });

/** Every src/href of a page. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

async function assertSameOriginAssetsLoad(base: string, html: string) {
  assert.doesNotMatch(html, /https?:\/\//, 'no absolute URL (CDN) in the page');
  // data: URLs (the empty favicon) are inline: nothing is fetched.
  const refs = references(html).filter((r) => !r.startsWith('data:'));
  assert.ok(refs.length >= 2, `the page loads its bundle: ${refs.join(', ')}`);
  for (const ref of refs) {
    assert.ok(ref.startsWith('/assets/'), `same-origin asset: ${ref}`);
    const res = await fetch(new URL(ref, base));
    assert.equal(res.status, 200, ref);
    assert.match(res.headers.get('content-type') ?? '', ref.endsWith('.css') ? /text\/css/ : /javascript/, ref);
    await res.arrayBuffer();
  }
}

describe('web pages in development (explorer on)', () => {
  let t: TestApp;
  before(async () => {
    // The development secret, so /dev/token exists as under `npm start`.
    t = await startTestApp({ developmentAuth: true });
  });
  after(() => t?.stop());

  it('serves the web app at / with its bundle from the same origin', async () => {
    const res = await getHtml(`${t.app.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await res.text();
    assert.match(html, /<div id="root">/);
    assert.match(html, /<meta name="graphql-explorer" content="\/graphql"/);
    await assertSameOriginAssetsLoad(t.app.url, html);
  });

  it('serves GraphiQL to a browser at GET /graphql, bundled, with nothing from other hosts', async () => {
    const res = await getHtml(`${t.app.url}/graphql`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const html = await res.text();
    assert.match(html, /GraphiQL/);
    await assertSameOriginAssetsLoad(t.app.url, html);
  });

  it('leaves /graphql to API clients: JSON GET and POST, and the WebSocket', async () => {
    const token = await t.token();
    const post = await t.gql('{ assets { nodes { id } } }');
    assert.deepEqual(post.data, { assets: { nodes: [] } });
    const get = await fetch(`${t.app.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true', authorization: `Bearer ${token}` },
    });
    assert.equal(get.status, 200);
    assert.deepEqual(await get.json(), { data: { __typename: 'Query' } });
    const ws = t.ws(token);
    const result = await new Promise((resolve, reject) => {
      ws.subscribe({ query: '{ __typename }' }, { next: resolve, error: reject, complete: () => {} });
    });
    assert.deepEqual(result, { data: { __typename: 'Query' } });
  });

  it('does not shadow /healthz, /dev/token or unknown paths', async () => {
    assert.equal((await fetch(`${t.app.url}/healthz`)).status, 200);
    const dev = await fetch(`${t.app.url}/dev/token`);
    assert.equal(dev.status, 200);
    assert.equal(typeof ((await dev.json()) as { token: unknown }).token, 'string');
    assert.equal((await getHtml(`${t.app.url}/assets/nope.js`)).status, 404);
    assert.equal((await getHtml(`${t.app.url}/explorer.html`)).status, 404);
  });
});

describe('web pages with the explorer off', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { GRAPHQL_EXPLORER: 'false' } });
  });
  after(() => t?.stop());

  it('does not serve GraphiQL, but still the web app (without an explorer link)', async () => {
    const res = await getHtml(`${t.app.url}/graphql`);
    assert.doesNotMatch(res.headers.get('content-type') ?? '', /text\/html/);
    assert.doesNotMatch(await res.text(), /GraphiQL/);
    const home = await getHtml(`${t.app.url}/`);
    assert.equal(home.status, 200);
    assert.doesNotMatch(await home.text(), /graphql-explorer/);
  });
});

describe('web pages in production', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(40) } });
  });
  after(() => t?.stop());

  it('serves the web app but neither the explorer nor the development token', async () => {
    assert.equal((await getHtml(`${t.app.url}/`)).status, 200);
    const explorer = await getHtml(`${t.app.url}/graphql`);
    assert.doesNotMatch(explorer.headers.get('content-type') ?? '', /text\/html/);
    await explorer.arrayBuffer();
    assert.equal((await fetch(`${t.app.url}/dev/token`)).status, 404);
  });
});
