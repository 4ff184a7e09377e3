// A transparent TCP proxy in front of PostgreSQL that counts round trips: a
// simple Query ('Q') or an extended-protocol Sync ('S') from the client is
// one round trip. It keeps, per round trip, when it was sent, by which
// connection (application_name from the startup message) and the SQL (from
// 'Q', or the last 'Parse' before the Sync). Used only by the profile
// section, to count the database work a job costs; bytes pass unchanged.
import net from 'node:net';
import { nowMs } from './proc.js';

export interface RoundTrip {
  atMs: number;
  app: string;
  sql: string;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;

class ClientStream {
  private buf: Buffer = Buffer.alloc(0);
  private startup = true;
  /** application_name of the connection; the ORM's connections set none. */
  app = 'MikroORM';
  private lastParse = '';

  constructor(private readonly onTrip: (t: RoundTrip) => void) {}

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (this.startup) {
        if (this.buf.length < 8) return;
        const len = this.buf.readInt32BE(0);
        if (this.buf.length < len) return;
        const code = this.buf.readInt32BE(4);
        if (code !== SSL_REQUEST && code !== CANCEL_REQUEST) {
          const parts = this.buf.subarray(8, len).toString('utf8').split('\0');
          for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === 'application_name') this.app = parts[i + 1]!;
          this.startup = false;
        }
        this.buf = this.buf.subarray(len);
        continue;
      }
      if (this.buf.length < 5) return;
      const type = String.fromCharCode(this.buf[0]!);
      const len = this.buf.readInt32BE(1);
      if (this.buf.length < 1 + len) return;
      const body = this.buf.subarray(5, 1 + len);
      if (type === 'Q') this.onTrip({ atMs: nowMs(), app: this.app, sql: cstring(body, 0) });
      else if (type === 'P') this.lastParse = cstring(body, body.indexOf(0) + 1);
      else if (type === 'S') this.onTrip({ atMs: nowMs(), app: this.app, sql: this.lastParse });
      this.buf = this.buf.subarray(1 + len);
    }
  }
}

function cstring(b: Buffer, start: number): string {
  const end = b.indexOf(0, start);
  return b.subarray(start, end < 0 ? b.length : end).toString('utf8').replace(/\s+/g, ' ').trim();
}

export class PgCountingProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  trips: RoundTrip[] = [];

  constructor(private readonly upstream: { host: string; port: number }) {}

  async start(): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.upstream.port, this.upstream.host);
      this.sockets.add(client).add(upstream);
      const parser = new ClientStream((t) => {
        if (this.trips.length < 500_000) this.trips.push(t);
      });
      client.on('data', (chunk: Buffer) => {
        parser.push(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      const end = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
