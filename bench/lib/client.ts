// The service seen from a client: GraphQL over HTTP, presigned PUTs straight
// to S3, and graphql-ws subscriptions whose events are stamped on receipt.
import { readFile } from 'node:fs/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { nowMs } from './proc.js';

export const PREPARE = /* GraphQL */ `
  mutation Prepare($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) { asset { id status } uploadUrl uploadHeaders { name value } expiresAt }
  }`;
export const COMPLETE = /* GraphQL */ `
  mutation Complete($id: ID!) { completeAudioUpload(input: { id: $id }) { id status } }`;
export const ASSET = /* GraphQL */ `
  query Asset($id: ID!) { asset(id: $id) { id status progress duration url } }`;
/** What a client shows when an asset changes: status, progress and, once DONE, what to play. */
export const WATCH = /* GraphQL */ `
  subscription Watch($id: ID) { assetUpdated(id: $id) { id status progress duration url error { code } } }`;

export interface AssetEvent {
  id: string;
  status: string;
  progress: number | null;
  duration: number | null;
  url: string | null;
  error: { code: string } | null;
  /** Epoch ms (sub-ms precision) when the bench received it. */
  receivedMs: number;
}

export class GraphQLError extends Error {}

export async function gql<T = any>(baseUrl: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new GraphQLError(`${res.status} ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

export interface Prepared {
  id: string;
  uploadUrl: string;
  headers: Record<string, string>;
}

export async function prepare(
  baseUrl: string,
  token: string,
  input: { filename: string; size: number; contentType: string } & ProcessingOptions,
): Promise<Prepared> {
  const data = await gql(baseUrl, token, PREPARE, { input });
  const p = data.prepareAudioUpload;
  if (!p.uploadUrl) throw new Error('expected a single-PUT upload (raise MULTIPART_THRESHOLD_BYTES for the bench)');
  return { id: p.asset.id, uploadUrl: p.uploadUrl, headers: Object.fromEntries(p.uploadHeaders.map((h: { name: string; value: string }) => [h.name, h.value])) };
}

export async function put(p: Prepared, body: Buffer): Promise<void> {
  const res = await fetch(p.uploadUrl, { method: 'PUT', headers: p.headers, body });
  if (!res.ok) throw new Error(`PUT ${res.status}: ${(await res.text()).slice(0, 500)}`);
}

export async function complete(baseUrl: string, token: string, id: string): Promise<string> {
  const data = await gql(baseUrl, token, COMPLETE, { id });
  return data.completeAudioUpload.status as string;
}

/** What prepareAudioUpload may ask of processing besides the M4A. */
export interface ProcessingOptions {
  loudnessTarget?: number;
  renditions?: string[];
}

export interface UploadFile {
  path: string;
  contentType: string;
  options?: ProcessingOptions;
}

/** prepare + PUT, as a client does before completing. */
export async function upload(baseUrl: string, token: string, file: UploadFile, body?: Buffer): Promise<string> {
  const bytes = body ?? (await readFile(file.path));
  const p = await prepare(baseUrl, token, { filename: file.path.split('/').pop()!, size: bytes.length, contentType: file.contentType, ...file.options });
  await put(p, bytes);
  return p.id;
}

type Waiter = { id: string; match: (e: AssetEvent) => boolean; resolve: (e: AssetEvent) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

/**
 * One graphql-ws connection of one user, subscribed to all of that user's
 * assets (or to one asset). Every event is stamped on receipt and kept by
 * asset id; `waitFor` resolves on the first event of an asset in a status.
 */
export class Watcher {
  readonly events = new Map<string, AssetEvent[]>();
  private readonly waiters = new Set<Waiter>();
  private readonly client: Client;
  private unsubscribe: (() => void) | null = null;
  private connectedAt: Promise<void>;
  failure: Error | null = null;

  constructor(baseUrl: string, token: string, private readonly assetId: string | null = null) {
    let connected!: () => void;
    this.connectedAt = new Promise((r) => (connected = r));
    this.client = createClient({
      url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      lazy: true,
      on: { connected: () => connected() },
    });
  }

  /** Subscribes; resolves once the socket is acknowledged (the subscribe message goes right after). */
  start(): Promise<void> {
    this.unsubscribe = this.client.subscribe<{ assetUpdated: Omit<AssetEvent, 'receivedMs'> }>(
      { query: WATCH, variables: { id: this.assetId } },
      {
        next: (v) => {
          const receivedMs = nowMs();
          if (v.errors || !v.data) return this.fail(new Error(`subscription error: ${JSON.stringify(v.errors)}`));
          const e: AssetEvent = { ...v.data.assetUpdated, receivedMs };
          let list = this.events.get(e.id);
          if (!list) this.events.set(e.id, (list = []));
          list.push(e);
          for (const w of this.waiters) {
            if (w.id === e.id && w.match(e)) {
              this.waiters.delete(w);
              clearTimeout(w.timer);
              w.resolve(e);
            }
          }
        },
        error: (err) => this.fail(err instanceof Error ? err : new Error(`socket closed: ${JSON.stringify(err)}`)),
        complete: () => this.fail(new Error('subscription completed by the server')),
      },
    );
    return this.connectedAt;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.waiters.clear();
  }

  /** First event of `id` in one of `statuses` (already received or still to come). */
  waitFor(id: string, statuses: string[], timeoutMs: number): Promise<AssetEvent> {
    return this.waitUntil(id, (e) => statuses.includes(e.status), timeoutMs, statuses.join('/'));
  }

  /** First event of `id` that `match` accepts (already received or still to come). */
  waitUntil(id: string, match: (e: AssetEvent) => boolean, timeoutMs: number, what = 'matching'): Promise<AssetEvent> {
    const seen = this.events.get(id)?.find(match);
    if (seen) return Promise.resolve(seen);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        id,
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`no ${what} event for ${id} within ${timeoutMs} ms; got ${JSON.stringify(this.events.get(id)?.map((e) => e.status))}`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  /**
   * graphql-ws does not acknowledge a subscribe: prove the subscription is
   * live by creating an asset and waiting for its AWAITING_UPLOAD event.
   */
  async confirmLive(baseUrl: string, token: string, attempts = 5): Promise<void> {
    for (let i = 1; ; i++) {
      const p = await prepare(baseUrl, token, { filename: 'probe.mp3', size: 1, contentType: 'audio/mpeg' });
      try {
        await this.waitFor(p.id, ['AWAITING_UPLOAD'], 2000);
        return;
      } catch (e) {
        if (i >= attempts || this.failure) throw e;
      }
    }
  }

  first(id: string, status: string): AssetEvent | undefined {
    return this.events.get(id)?.find((e) => e.status === status);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    await this.client.dispose();
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
