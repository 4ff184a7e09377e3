import { createServer } from 'node:net';

/**
 * A port nobody listens on right now, picked by the kernel (listen on 0).
 * Another process may still take it before the caller binds it, so callers
 * that can should retry on EADDRINUSE.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error(`freePort: expected a TCP address for ${host}, got ${String(address)}`);
  }
  return address.port;
}
