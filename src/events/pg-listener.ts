import pg from 'pg';

export interface PgListenerOptions {
  databaseUrl: string;
  channels: string[];
  onNotification: (channel: string, payload: string) => void;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Called after every (re)connection, so a consumer can catch up on what it missed. */
  onListening?: () => void;
  /** Called when the connection is lost: notifications may be missed until onListening. */
  onLost?: () => void;
}

/**
 * One dedicated LISTEN connection that survives database restarts: when it
 * drops, it reconnects with backoff and LISTENs again.
 */
export class PgListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: PgListenerOptions) {}

  get isListening(): boolean {
    return this.client !== null;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    // TCP keep-alive: a connection that died silently (no FIN, no RST) is noticed and replaced.
    const client = new pg.Client({
      connectionString: this.o.databaseUrl,
      application_name: 'audio-service/listen',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
    });
    client.on('notification', (m) => {
      if (m.payload !== undefined) this.o.onNotification(m.channel, m.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.o.channels) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    } catch (e) {
      client.removeAllListeners();
      client.on('error', () => {});
      await client.end().catch(() => {});
      throw e;
    }
    if (this.stopped) return void (await client.end().catch(() => {}));
    this.client = client;
    this.o.onListening?.();
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    this.o.onLost?.();
    if (this.stopped) return;
    this.o.log.warn({ channels: this.o.channels }, 'LISTEN connection lost, reconnecting');
    this.scheduleReconnect(250);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().then(
        () => this.o.log.info({ channels: this.o.channels }, 'listening again'),
        () => this.scheduleReconnect(Math.min(delayMs * 2, 5000)),
      );
    }, delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = null;
    if (c) this.o.onLost?.();
    await c?.end().catch(() => {});
  }
}
