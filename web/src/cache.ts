// The one list of assets in Apollo's cache. Entities update themselves (they
// are normalized by id); only a new asset has to be put into the list.
import type { ApolloCache, Reference } from '@apollo/client';
import { AssetFieldsFragment } from './operations';
import type { AssetFieldsFragment as AssetFields } from './gql/graphql';

type AssetsField = { __typename?: string; nodes: Reference[]; pageInfo: unknown };

/** Newest first (contract): a new asset goes on top, once. */
export function addToList(cache: ApolloCache, asset: AssetFields): void {
  const ref = cache.writeFragment({ fragment: AssetFieldsFragment, data: asset });
  if (!ref) return;
  cache.modify({
    fields: {
      assets(value, { readField }) {
        const existing = value as unknown as AssetsField | undefined;
        if (!existing?.nodes || existing.nodes.some((n) => readField('id', n) === asset.id)) return value;
        return { ...existing, nodes: [ref, ...existing.nodes] } as unknown as typeof value;
      },
    },
  });
}

export function removeFromCache(cache: ApolloCache, id: string): void {
  cache.evict({ id: cache.identify({ __typename: 'AudioAsset', id }) });
  cache.gc();
}
