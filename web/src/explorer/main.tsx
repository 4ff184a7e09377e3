// GraphiQL served by the service at GET /graphql (browsers only), bundled from
// npm with its Monaco workers: no CDN, so it works with no internet.
import './workers';
import 'graphiql/style.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { createRoot } from 'react-dom/client';
import { graphqlWsUrl, resolveToken } from '../token';

const EXAMPLE = `# Your assets, newest first. Subscriptions run over graphql-ws:
#   subscription { assetUpdated { id status progress duration } }
query Assets {
  assets(first: 10) {
    nodes { id status filename progress duration url error { code message } }
  }
}
`;

async function start(): Promise<void> {
  const token = await resolveToken();
  const authorization = token ? `Bearer ${token}` : undefined;
  const headers = authorization ? JSON.stringify({ Authorization: authorization }, null, 2) : undefined;
  const fetcher = createGraphiQLFetcher({
    url: '/graphql',
    subscriptionUrl: graphqlWsUrl(),
    // The headers editor's values are merged over these for both HTTP and the
    // WebSocket's connection_init (the server reads `authorization` there).
    wsConnectionParams: authorization ? { authorization } : {},
  });
  createRoot(document.getElementById('explorer')!).render(
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={EXAMPLE}
      // Shareable links: /graphql?query=… opens with that operation.
      initialQuery={new URLSearchParams(location.search).get('query') ?? undefined}
      // Pre-filled so the first query just works; the token is a development
      // one (or the #token= the user brought), so not persisted to storage.
      initialHeaders={headers}
      defaultHeaders={headers}
      shouldPersistHeaders={false}
    />,
  );
}

void start();
