import type express from 'express';

export interface WebOptions {
  /** Serve the GraphQL explorer to browsers at GET /graphql. */
  explorer: boolean;
  production: boolean;
}

/** The web app at `/` and the bundled explorer at GET /graphql (filled in by the clients work). */
export function webRoutes(_o: WebOptions) {
  return (_app: express.Express) => {};
}
