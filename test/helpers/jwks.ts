// An identity provider in miniature: key pairs made with jose, a JWKS served
// over real HTTP on a free port (that can be taken down and brought back),
// and tokens signed the way providers sign them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: ProviderKey['alg'], kid: string): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

/** A provider's token: `exp` 5 minutes ahead unless the claims say otherwise. */
export function signToken(key: ProviderKey, claims: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iat: now, exp: now + 300, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: header.kid ?? key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

export interface JwksServer {
  url: string;
  /** The keys served from now on. */
  publish(keys: ProviderKey[]): void;
  /** GET requests served so far. */
  readonly fetches: number;
  /** Stops answering (connections refused) until `up`. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export async function startJwksServer(keys: ProviderKey[]): Promise<JwksServer> {
  let body = '';
  let fetches = 0;
  const publish = (ks: ProviderKey[]) => (body = JSON.stringify({ keys: ks.map((k) => k.publicJwk) }));
  publish(keys);
  const server = http.createServer((req, res) => {
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  const listenOn = (port: number) => new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  await listenOn(0);
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    publish,
    get fetches() {
      return fetches;
    },
    down: close,
    up: () => listenOn(port),
    stop: async () => {
      if (server.listening) await close();
    },
  };
}
