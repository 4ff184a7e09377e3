// A TCP proxy in front of a storage server that a test can take away and
// bring back. Answers flow at a set rate, so a test can cut a transfer that
// is still under way (on loopback, megabytes would otherwise sit in socket
// buffers and reach the reader after the "outage").
import net from 'node:net';
import { Transform } from 'node:stream';

export interface StorageProxy {
  port: number;
  /** Cuts every open connection; new ones are served as before. */
  reset(): void;
  /** Cuts every connection and refuses new ones until `restore()`. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** Bytes sent to clients since start. */
  bytesSent(): number;
  close(): Promise<void>;
}

/** Lets `bytesPerSecond` through, in 16 KiB steps. */
function throttle(bytesPerSecond: number, count: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const send = (offset: number) => {
        if (offset >= chunk.length) return done();
        const piece = chunk.subarray(offset, offset + 16_384);
        count(piece.length);
        this.push(piece);
        setTimeout(() => send(offset + piece.length), (piece.length / bytesPerSecond) * 1000);
      };
      send(0);
    },
  });
}

export async function startStorageProxy(target: { host: string; port: number }, bytesPerSecond: number): Promise<StorageProxy> {
  const sockets = new Set<net.Socket>();
  let sent = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    // The answer's end travels through the throttle to the client; a cut on either side cuts both.
    client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(throttle(bytesPerSecond, (n) => (sent += n))).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject).listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const reset = () => {
    // RST, not FIN: nothing queued reaches the client after the cut.
    for (const s of sockets) s.resetAndDestroy();
    sockets.clear();
  };
  const stop = async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    reset();
    await closed;
  };
  return {
    port,
    reset,
    cut: stop,
    restore: () => listen(port),
    bytesSent: () => sent,
    close: stop,
  };
}
