import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../src/config/config.js';

const root = new URL('../../../', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, root), 'utf8');
const hasDockerCompose = (() => {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Service {
  build?: unknown;
  image?: string;
  environment?: Record<string, string>;
  healthcheck?: unknown;
  command?: string[];
  depends_on?: Record<string, unknown>;
}

describe('docker-compose.yml and Dockerfile', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };

  it('brings up PostgreSQL, MinIO with an init step, and separate api and worker services built from the Dockerfile', () => {
    const s = compose.services;
    assert.deepEqual(Object.keys(s).sort(), ['api', 'minio', 'minio-init', 'postgres', 'worker']);
    assert.ok(s.api!.build && s.worker!.build);
    assert.deepEqual(s.api!.command, ['--role', 'api']);
    assert.deepEqual(s.worker!.command, ['--role', 'worker']);
    for (const name of ['postgres', 'minio']) assert.ok(s[name]!.healthcheck, `${name} has a healthcheck`);
    assert.deepEqual(Object.keys(compose.volumes).sort(), ['miniodata', 'pgdata']);
    assert.ok(String(read('docker-compose.yml')).includes('mc ilm rule add'), 'the init step sets the lifecycle rule');
  });

  it('sets only variables the config module reads, and a public endpoint browsers can use', () => {
    for (const name of ['api', 'worker']) {
      const env = compose.services[name]!.environment!;
      // NODE_OPTIONS is node's own (workers: a small young generation, README "Running").
      for (const key of Object.keys(env)) {
        if (name === 'worker' && key === 'NODE_OPTIONS') continue;
        assert.ok(CONFIG_VARIABLES.includes(key), `${name}: ${key} is not read by src/config/config.ts`);
      }
    }
    assert.equal(compose.services['worker']!.environment!['NODE_OPTIONS'], '--max-semi-space-size=1');
    assert.equal(compose.services['api']!.environment!['NODE_OPTIONS'], undefined);
    // Workers verify no tokens (issue 25): the JWT secret goes to API processes only.
    assert.match(String(compose.services['api']!.environment!['AUTH_JWT_SECRET']), /AUTH_JWT_SECRET/);
    assert.equal(compose.services['worker']!.environment!['AUTH_JWT_SECRET'], undefined);
    for (const name of ['api', 'worker']) {
      const env = compose.services[name]!.environment!;
      assert.equal(env['NODE_ENV'], 'production');
      assert.match(String(env['S3_PUBLIC_ENDPOINT']), /^http:\/\/localhost:9000$/);
    }
  });

  it('gives workers a storage user limited to reading uploads/ and writing and deleting results, not the root key', () => {
    const worker = compose.services['worker']!.environment!;
    const root = (compose.services['minio']!.environment as Record<string, string>)['MINIO_ROOT_USER'];
    assert.notEqual(worker['S3_ACCESS_KEY_ID'], root);
    assert.equal(compose.services['api']!.environment!['S3_ACCESS_KEY_ID'], root, 'the API presigns uploads: it keeps the full key');
    const init = compose.services['minio-init']!;
    const script = init.command!.join(' ');
    assert.match(script, new RegExp(`mc admin user add local ${worker['S3_ACCESS_KEY_ID']} ${worker['S3_SECRET_ACCESS_KEY']}`));
    assert.match(script, /mc admin policy attach local audio-worker --user audio-worker/);
    const policy = JSON.parse((init.environment as Record<string, string>)['WORKER_POLICY']!) as { Statement: { Action: string[]; Resource: string[] }[] };
    const allowed = (action: string) => policy.Statement.filter((st) => st.Action.includes(action)).flatMap((st) => st.Resource).sort();
    assert.deepEqual(allowed('s3:GetObject'), ['arn:aws:s3:::audio/uploads/*']);
    assert.deepEqual(allowed('s3:PutObject'), ['arn:aws:s3:::audio/audio/*', 'arn:aws:s3:::audio/waveform/*']);
    assert.deepEqual(allowed('s3:DeleteObject'), ['arn:aws:s3:::audio/audio/*', 'arn:aws:s3:::audio/uploads/*', 'arn:aws:s3:::audio/waveform/*']);
    assert.ok(!policy.Statement.some((st) => st.Action.some((a) => a === 's3:*' || a.startsWith('admin:'))));
  });

  it('builds a small multi-stage image: Debian ffmpeg, production dependencies only, non-root, healthcheck on /healthz', () => {
    const docker = read('Dockerfile');
    assert.ok((docker.match(/^FROM /gm) ?? []).length >= 2);
    assert.match(docker, /apt-get install[^\n]*ffmpeg/);
    assert.match(docker, /npm ci --omit=dev --omit=optional/);
    assert.match(docker, /^USER node$/m);
    assert.match(docker, /HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('pins every image it pulls by digest: the compose services and the Dockerfile base', () => {
    const pulled = Object.entries(compose.services).filter(([, s]) => s.image).map(([name, s]) => [name, s.image!] as const);
    assert.deepEqual(pulled.map(([name]) => name).sort(), ['minio', 'minio-init', 'postgres']);
    const bases = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => ['Dockerfile', m[1]!] as const);
    for (const [where, image] of [...pulled, ...bases]) assert.match(image, /^[\w./:-]+@sha256:[0-9a-f]{64}$/, `${where}: ${image}`);
  });

  it('is a valid compose file for docker-compose', { skip: hasDockerCompose ? false : 'docker-compose is not installed (.ci/run installs it)' }, () => {
    execFileSync('docker-compose', ['-f', new URL('docker-compose.yml', root).pathname, 'config', '-q'], {
      env: { ...process.env, AUTH_JWT_SECRET: 'x'.repeat(40) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  });
});
