// The CLI's way in: typed documents over HTTP (fetch) and graphql-ws (the `ws`
// package), with the bearer token as the contract says for each transport.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export class ApiError extends Error {
  constructor(message: string, readonly code?: string) {
    super(code ? `${code}: ${message}` : message);
  }
}

export class Api {
  constructor(private readonly url: string, private readonly token: string) {}

  /** The development token; the endpoint exists only in development. */
  static async devToken(url: string): Promise<string> {
    const res = await fetch(`${url}/dev/token`).catch((e: Error) => {
      throw new Error(`cannot reach ${url}: ${e.message}`);
    });
    if (!res.ok) throw new Error(`no token: set AUTH_TOKEN or --token (${url}/dev/token answered ${res.status}; it exists only in development)`);
    return ((await res.json()) as { token: string }).token;
  }

  async request<R, V>(doc: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    const res = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query: print(doc), variables }),
    }).catch((e: Error) => {
      throw new Error(`cannot reach ${this.url}: ${e.message}`);
    });
    const body = (await res.json().catch(() => ({}))) as { data?: R; errors?: { message: string; extensions?: { code?: string } }[] };
    const first = body.errors?.[0];
    if (first) throw new ApiError(first.message, first.extensions?.code);
    if (!res.ok || !body.data) throw new ApiError(`HTTP ${res.status}`);
    return body.data;
  }

  /** A graphql-ws client whose connection has been acknowledged, so a subscription is live once sent. */
  async socket(): Promise<Client> {
    let failed: (e: Error) => void = () => {};
    const client = createClient({
      url: `${this.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.token}` },
      // Connect now rather than on the first subscribe: we wait for the ack.
      lazy: false,
      onNonLazyError: (e) => failed(new Error(`WebSocket: ${(e as { code?: number; reason?: string }).code ?? ''} ${(e as { reason?: string }).reason ?? String(e)}`.trim())),
      retryAttempts: 3,
    });
    // The socket opens asynchronously, so these listeners are in time.
    await new Promise<void>((resolve, reject) => {
      failed = reject;
      client.on('connected', () => resolve());
    });
    return client;
  }

  subscribe<R, V>(client: Client, doc: TypedDocumentNode<R, V>, variables: V, onData: (data: R) => void, onError: (e: Error) => void): () => void {
    return client.subscribe<R>(
      { query: print(doc), variables: variables as Record<string, unknown> },
      {
        next: (v) => (v.errors?.length ? onError(new ApiError(v.errors[0]!.message)) : v.data && onData(v.data as R)),
        error: (e) => onError(e instanceof Error ? e : new Error(`subscription closed: ${JSON.stringify(e)}`)),
        complete: () => {},
      },
    );
  }
}
