// Apollo Client over both transports of the contract: queries and mutations
// over HTTP, subscriptions over graphql-ws on the same /graphql path.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Kind, OperationTypeNode } from 'graphql';
import { createClient } from 'graphql-ws';
import { graphqlWsUrl } from './token';

export function createApollo(token: string | null): ApolloClient {
  const authorization = token ? `Bearer ${token}` : undefined;
  const http = new HttpLink({ uri: '/graphql', headers: authorization ? { authorization } : {} });

  let client: ApolloClient | null = null;
  const ws = createClient({
    url: graphqlWsUrl(),
    connectionParams: authorization ? { authorization } : {},
    // Keep trying: a phone that sleeps or a service that restarts comes back.
    retryAttempts: Infinity,
    shouldRetry: () => true,
    // The library's backoff doubles without a bound; forever needs a ceiling.
    retryWait: (retries) => new Promise((r) => setTimeout(r, Math.min(2 ** retries, 30) * 1000 + Math.random() * 2000)),
    on: {
      // Events sent while the socket was down are gone: after a reconnect,
      // re-query what is on screen (GraphQLWsLink resubscribes by itself).
      connected: (_socket, _payload, wasRetry) => {
        if (wasRetry) void client?.refetchQueries({ include: 'active' });
      },
    },
  });

  const link = ApolloLink.split(
    ({ query }) => {
      const def = getMainDefinition(query);
      return def.kind === Kind.OPERATION_DEFINITION && def.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(ws),
    http,
  );

  client = new ApolloClient({
    link,
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // One list, whatever the page size asked; new assets are prepended
            // by hand (cache.ts), older pages appended by "Show older".
            assets: {
              keyArgs: false,
              merge(existing: { nodes: unknown[] } | undefined, incoming: { nodes: unknown[] }, { args }) {
                return existing && args?.['after'] ? { ...incoming, nodes: [...existing.nodes, ...incoming.nodes] } : incoming;
              },
            },
          },
        },
      },
    }),
  });
  return client;
}
