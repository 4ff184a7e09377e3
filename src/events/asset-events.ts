import pg from 'pg';
import { type AssetView, assetFromEventPayload } from '../domain/asset.js';
import { AsyncQueue } from './async-queue.js';

export const ASSET_EVENTS_CHANNEL = 'asset_events';

interface Subscriber {
  assetId: string | null;
  queue: AsyncQueue<AssetView>;
}

export interface AssetEventsOptions {
  databaseUrl: string;
  log: { warn: (obj: object, msg: string) => void; info: (obj: object, msg: string) => void };
  /** Events one subscriber may have waiting before it is ended. */
  maxBacklog?: number;
}

/**
 * Delivers asset changes made by any process to this API node's subscribers.
 * The audio_asset trigger NOTIFYs every committed change; this node holds one
 * LISTEN connection and fans out by owner. The connection is re-established
 * after a database restart.
 */
export class AssetEvents {
  private readonly byOwner = new Map<string, Set<Subscriber>>();
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private listening = false;

  constructor(private readonly o: AssetEventsOptions) {}

  get isListening(): boolean {
    return this.listening;
  }

  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.databaseUrl, application_name: 'audio-service/events' });
    client.on('notification', (m) => {
      if (m.channel === ASSET_EVENTS_CHANNEL && m.payload) this.dispatch(m.payload);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`listen ${ASSET_EVENTS_CHANNEL}`);
    this.client = client;
    this.listening = true;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening = false;
    client.removeAllListeners('notification');
    client.end().catch(() => {});
    if (this.stopped) return;
    this.o.log.warn({}, 'asset events: LISTEN connection lost, reconnecting');
    this.scheduleReconnect(250);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect().then(
        () => this.o.log.info({}, 'asset events: listening again'),
        () => this.scheduleReconnect(Math.min(delayMs * 2, 5000)),
      );
    }, delayMs);
  }

  private dispatch(payload: string): void {
    let asset: AssetView;
    try {
      asset = assetFromEventPayload(payload);
    } catch (e) {
      this.o.log.warn({ err: e }, 'asset events: unreadable payload');
      return;
    }
    for (const s of this.byOwner.get(asset.ownerId) ?? []) {
      if (s.assetId === null || s.assetId === asset.id) s.queue.push(asset);
    }
  }

  /** Changes of one owner's assets (or of one of them), until the iterator is returned. */
  subscribe(ownerId: string, assetId: string | null): AsyncIterableIterator<AssetView> {
    const subscriber: Subscriber = {
      assetId,
      queue: new AsyncQueue<AssetView>(this.o.maxBacklog ?? 1000, () => {
        const set = this.byOwner.get(ownerId);
        set?.delete(subscriber);
        if (set?.size === 0) this.byOwner.delete(ownerId);
      }),
    };
    let set = this.byOwner.get(ownerId);
    if (!set) this.byOwner.set(ownerId, (set = new Set()));
    set.add(subscriber);
    return subscriber.queue;
  }

  get subscriberCount(): number {
    let n = 0;
    for (const s of this.byOwner.values()) n += s.size;
    return n;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const set of [...this.byOwner.values()]) for (const s of [...set]) s.queue.close();
    const c = this.client;
    this.client = null;
    this.listening = false;
    await c?.end().catch(() => {});
  }
}
