// Floods of the upload mutations against two API processes sharing one
// PostgreSQL: the budgets are per user and counted in the database.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { COMPLETE, PREPARE, type GqlResponse, startTestApp, type TestApp } from '../helpers/app.js';

const LIMITS = { UPLOAD_RATE_LIMIT_PER_MINUTE: '3', COMPLETE_RATE_LIMIT_PER_MINUTE: '2', RENEW_RATE_LIMIT_PER_MINUTE: '2' };
const INPUT = { filename: 'flood.mp3', size: 1000, contentType: 'audio/mpeg' };
const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code ?? 'OK';

describe('rate limits under a flood, across API processes', () => {
  let one: TestApp;
  let two: TestApp;
  before(async () => {
    one = await startTestApp({ role: 'api', env: LIMITS });
    // Same database and bucket: a second API process behind the same load balancer.
    two = await startTestApp({ role: 'api', env: LIMITS, db: one.db, s3: one.s3 });
  });
  after(async () => {
    await two?.stop();
    await one?.stop();
  });

  const prepare = (app: TestApp, token: string) => app.gql(PREPARE, { input: INPUT }, token);

  it('answers RATE_LIMITED after UPLOAD_RATE_LIMIT_PER_MINUTE prepares, and other users are not affected', async () => {
    const flooder = await one.token('flooder');
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push(codeOf(await prepare(one, flooder)));
    assert.deepEqual(codes, ['OK', 'OK', 'OK', 'RATE_LIMITED']);
    const limited = await prepare(one, flooder);
    assert.match(limited.errors![0]!.message, /limited to 3 calls a minute/);
    const retry = limited.errors![0]!.extensions!['retryAfterSeconds'] as number;
    assert.ok(retry >= 1 && retry <= 60, String(retry));
    const bystander = await one.token('bystander');
    for (let i = 0; i < 3; i++) assert.equal(codeOf(await prepare(one, bystander)), 'OK');
  });

  it('counts one budget across two API processes on one database', async () => {
    const roamer = await one.token('roamer');
    assert.equal(codeOf(await prepare(one, roamer)), 'OK');
    assert.equal(codeOf(await prepare(two, roamer)), 'OK');
    assert.equal(codeOf(await prepare(one, roamer)), 'OK');
    assert.equal(codeOf(await prepare(two, roamer)), 'RATE_LIMITED');
    assert.equal(codeOf(await prepare(one, roamer)), 'RATE_LIMITED');
  });

  it('lets exactly the budget through when 20 prepares race on both processes', async () => {
    const racer = await one.token('racer');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => prepare(i % 2 ? one : two, racer)));
    const codes = results.map(codeOf);
    assert.equal(codes.filter((c) => c === 'OK').length, 3, codes.join());
    assert.equal(codes.filter((c) => c === 'RATE_LIMITED').length, 17, codes.join());
  });

  it('limits completeAudioUpload and renewUploadUrls per user too', async () => {
    const poller = await one.token('poller');
    const id = (await prepare(one, poller)).data!.prepareAudioUpload.asset.id as string;
    // Not uploaded yet: UPLOAD_NOT_FOUND, which still counts (each call HEADs the storage).
    const completes = [];
    for (let i = 0; i < 3; i++) completes.push(codeOf(await (i % 2 ? two : one).gql(COMPLETE, { id }, poller)));
    assert.deepEqual(completes, ['UPLOAD_NOT_FOUND', 'UPLOAD_NOT_FOUND', 'RATE_LIMITED']);
    const renew = `mutation($id: ID!) { renewUploadUrls(id: $id) { uploadUrl } }`;
    const renews = [];
    for (let i = 0; i < 3; i++) renews.push(codeOf(await two.gql(renew, { id }, poller)));
    assert.deepEqual(renews, ['OK', 'OK', 'RATE_LIMITED']);
    // Other budgets of the same user are separate.
    assert.equal(codeOf(await prepare(two, poller)), 'OK');
  });
});
