// The GraphiQL the service serves at /graphql, in a real Chromium with every
// other host blocked (the contract's "needs no internet"): the development
// token is pre-filled, queries run over HTTP and subscriptions over graphql-ws.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COMPLETE, prepareAndPut, startTestApp, type TestApp } from '../helpers/app.js';
import { type Browser, launch, skipWithoutChromium } from './browser.js';

/** A WAV header and a little silence: enough for an event, no ffmpeg needed. */
function tinyWav(): Buffer {
  const data = Buffer.alloc(8820);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(44100, 24);
  h.writeUInt32LE(88200, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('the GraphQL explorer in Chromium', { skip: skipWithoutChromium }, () => {
  let t: TestApp;
  let b: Browser;
  const elsewhere: string[] = [];

  before(async () => {
    // The development secret, so /dev/token exists as under `npm start`.
    t = await startTestApp({ developmentAuth: true });
    b = await launch({ width: 1280, height: 800 });
    const own = new URL(t.app.url).host;
    await b.context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.host === own) return route.continue();
      elsewhere.push(url.href);
      return route.abort('internetdisconnected');
    });
  });
  after(async () => {
    await b?.close();
    await t?.stop();
  });

  const response = () => b.page.locator('.graphiql-response');
  const run = () => b.page.locator('.graphiql-execute-button').click();
  /** Opens the explorer with `query` and waits until it knows the schema (it parses operations with it). */
  const open = async (query: string) => {
    const introspected = b.page.waitForResponse((r) => r.request().postData()?.includes('IntrospectionQuery') ?? false);
    await b.page.goto(`${t.app.url}/graphql?query=${encodeURIComponent(query)}`);
    await (await introspected).finished();
    await b.page.locator('.graphiql-query-editor').getByText(query.split(' ')[1]!).waitFor({ timeout: 30_000 });
  };

  it('runs a query with the pre-filled development token, loading nothing from other hosts', async () => {
    await open('query Mine { assets { nodes { id status } } }');
    await run();
    await response().getByText('"nodes"').waitFor({ timeout: 15_000 });
    assert.doesNotMatch(await response().innerText(), /UNAUTHENTICATED/);
    await b.screenshot('explorer-01-query');
    assert.deepEqual(elsewhere, []);
  });

  it('runs a subscription over graphql-ws and shows its events', async () => {
    await open('subscription Live { assetUpdated { id status } }');
    const opened = b.page.waitForEvent('websocket', (ws) => ws.url().endsWith('/graphql'));
    await run();
    const socket = await opened;
    await socket.waitForEvent('framereceived', (f) => String(f.payload).includes('connection_ack'));
    // Subscribed once the socket is acknowledged; give the subscribe message a moment.
    await new Promise((r) => setTimeout(r, 300));
    const id = await prepareAndPut(t, tinyWav(), { filename: 'tiny.wav', contentType: 'audio/wav' }, await t.token('dev-user'));
    assert.equal((await t.gql(COMPLETE, { id }, await t.token('dev-user'))).errors, undefined);
    await response().getByText(id).first().waitFor({ timeout: 15_000 });
    await b.screenshot('explorer-02-subscription');
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(b.errors.filter((e) => e.startsWith('pageerror')), []);
  });
});
