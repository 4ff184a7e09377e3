// The bucket CORS merge decision: when the operator's rules already let the
// web app upload and anyone read, nothing is put; otherwise ours are merged
// in and every rule of the operator's is kept.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CORSRule } from '@aws-sdk/client-s3';
import {
  READ_RULE_ID, UPLOAD_RULE_ID, appCorsRules, appOrigins, corsAdvice, coversApp, mergeCorsRules,
} from '../../src/storage/bucket-cors.js';

const APP = ['https://app.example.com'];
const operatorRule: CORSRule = { ID: 'cdn', AllowedOrigins: ['https://cdn.example.net'], AllowedMethods: ['GET'], ExposeHeaders: ['X-Custom'] };

describe('mergeCorsRules', () => {
  it('puts both rules on a bucket with none', () => {
    const merged = mergeCorsRules([], APP)!;
    assert.deepEqual(merged.map((r) => r.ID), [UPLOAD_RULE_ID, READ_RULE_ID]);
    assert.deepEqual(merged[0]!.AllowedOrigins, APP);
    assert.ok(merged[0]!.AllowedMethods!.includes('PUT'));
    assert.ok(merged[0]!.ExposeHeaders!.includes('ETag'));
    assert.deepEqual(merged[1]!.AllowedOrigins, ['*']);
    assert.deepEqual(merged[1]!.AllowedMethods, ['GET', 'HEAD']);
  });

  it("keeps the operator's rules, between our upload rule (first) and read rule (last)", () => {
    const merged = mergeCorsRules([operatorRule], APP)!;
    assert.deepEqual(merged.map((r) => r.ID), [UPLOAD_RULE_ID, 'cdn', READ_RULE_ID]);
    assert.deepEqual(merged[1], operatorRule);
  });

  it('changes nothing once merged (a restart puts nothing)', () => {
    const merged = mergeCorsRules([operatorRule], APP)!;
    assert.equal(mergeCorsRules(merged, APP), null);
  });

  it('replaces our old rules when the origins changed, instead of piling them up', () => {
    const before = mergeCorsRules([operatorRule], APP)!;
    const after = mergeCorsRules(before, ['https://new.example.com'])!;
    assert.deepEqual(after.map((r) => r.ID), [UPLOAD_RULE_ID, 'cdn', READ_RULE_ID]);
    assert.deepEqual(after[0]!.AllowedOrigins, ['https://new.example.com']);
  });

  it("accepts an operator's own rules that already cover the app (wildcards, any case)", () => {
    const own: CORSRule[] = [
      { AllowedOrigins: ['https://*.example.com'], AllowedMethods: ['PUT', 'POST'], AllowedHeaders: ['Content-*'], ExposeHeaders: ['etag'] },
      { AllowedOrigins: ['*'], AllowedMethods: ['GET'] },
    ];
    assert.equal(coversApp(own, APP), true);
    assert.equal(mergeCorsRules(own, APP), null);
  });

  it('merges when the first rule for the origin hides ETag, even if a later one exposes it', () => {
    const own: CORSRule[] = [
      { AllowedOrigins: ['*'], AllowedMethods: ['GET', 'PUT'], AllowedHeaders: ['*'] },
      ...appCorsRules(APP).map((r) => ({ ...r, ID: undefined })),
    ];
    assert.equal(coversApp(own, APP), false);
    assert.equal(mergeCorsRules(own, APP)![0]!.ID, UPLOAD_RULE_ID);
  });

  it('merges when Content-Type is not an allowed header, or nobody may read', () => {
    const noHeader: CORSRule[] = [{ AllowedOrigins: APP, AllowedMethods: ['PUT'], ExposeHeaders: ['ETag'] }, { AllowedOrigins: ['*'], AllowedMethods: ['GET'] }];
    assert.equal(coversApp(noHeader, APP), false);
    const noRead: CORSRule[] = [{ AllowedOrigins: APP, AllowedMethods: ['PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'] }];
    assert.equal(coversApp(noRead, APP), false);
    assert.equal(coversApp([...noRead, { AllowedOrigins: ['*'], AllowedMethods: ['GET'] }], APP), true);
  });

  it('needs every origin covered: one listed origin of two is not enough', () => {
    const one: CORSRule[] = [{ AllowedOrigins: APP, AllowedMethods: ['PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'] }, { AllowedOrigins: ['*'], AllowedMethods: ['GET'] }];
    assert.equal(coversApp(one, [...APP, 'https://other.example.org']), false);
  });

  it('refuses to go over S3\'s 100 rules rather than drop an operator rule', () => {
    const many = Array.from({ length: 99 }, (_, i) => ({ ID: `r${i}`, AllowedOrigins: [`https://s${i}.example`], AllowedMethods: ['GET'] }));
    assert.throws(() => mergeCorsRules(many, APP), /no room/);
  });
});

describe('appOrigins', () => {
  it('reaches a loopback or wildcard listen address as localhost, and adds local ports outside production', () => {
    assert.deepEqual(appOrigins({ host: '0.0.0.0', port: 4000, extra: [], allowLocalhost: false }), ['http://localhost:4000', 'http://127.0.0.1:4000']);
    assert.deepEqual(appOrigins({ host: '127.0.0.1', port: 4000, extra: ['https://app.example.com'], allowLocalhost: true }), [
      'http://localhost:4000', 'http://127.0.0.1:4000', 'https://app.example.com', 'http://localhost:*', 'http://127.0.0.1:*', 'http://[::1]:*',
    ]);
    assert.deepEqual(appOrigins({ host: '10.0.0.5', port: 80, extra: [], allowLocalhost: false }), ['http://10.0.0.5:80']);
  });
});

describe('corsAdvice', () => {
  it('names the exact rules to put and the MinIO setting, without wildcard origins for MinIO', () => {
    const text = corsAdvice('audio', ['https://app.example.com', 'http://localhost:*'], 'NotImplemented');
    assert.match(text, /NotImplemented/);
    assert.match(text, /aws s3api put-bucket-cors --bucket audio --cors-configuration '\{"CORSRules":\[/);
    assert.match(text, /MINIO_API_CORS_ALLOW_ORIGIN=https:\/\/app\.example\.com \(|MINIO_API_CORS_ALLOW_ORIGIN=https:\/\/app\.example\.com /);
    const json = JSON.parse(/'(\{.*\})'/.exec(text)![1]!) as { CORSRules: CORSRule[] };
    assert.deepEqual(json.CORSRules, appCorsRules(['https://app.example.com', 'http://localhost:*']));
  });
});
