// Every asset of the user, newest first, kept live by `assetUpdated` (all of
// the viewer's assets: no id). Entities update in the cache by id; an asset
// first seen in an event (another tab, the CLI) is added to the list.
import { CombinedGraphQLErrors } from '@apollo/client';
import { useApolloClient, useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useState } from 'react';
import { addToList, removeFromCache } from '../cache';
import { AssetUpdatedSubscription, AssetsQuery, DeleteAssetMutation } from '../operations';
import type { LocalUpload } from '../uploads';
import { AssetCard } from './AssetCard';

const PAGE = 50;

export function AssetList({ uploads, onDismiss }: { uploads: LocalUpload[]; onDismiss(key: number): void }) {
  const client = useApolloClient();
  const { data, error, loading, fetchMore } = useQuery(AssetsQuery, { variables: { first: PAGE } });
  useSubscription(AssetUpdatedSubscription, {
    onData: ({ data: event }) => event.data && addToList(client.cache, event.data.assetUpdated),
  });
  const [deleteAsset] = useMutation(DeleteAssetMutation);
  const [deleting, setDeleting] = useState<ReadonlySet<string>>(new Set());
  const [deleteError, setDeleteError] = useState<string | null>(null);

  const remove = async (id: string) => {
    setDeleting((s) => new Set(s).add(id));
    try {
      await deleteAsset({ variables: { id } });
      removeFromCache(client.cache, id);
    } catch (e) {
      // NOT_FOUND: someone else (another tab) deleted it already.
      if (CombinedGraphQLErrors.is(e) && e.errors.some((x) => x.extensions?.['code'] === 'NOT_FOUND')) removeFromCache(client.cache, id);
      else setDeleteError((e as Error).message);
    } finally {
      setDeleting((s) => new Set([...s].filter((x) => x !== id)));
    }
  };

  const nodes = data?.assets.nodes ?? [];
  const byAsset = new Map(uploads.filter((u) => u.assetId).map((u) => [u.assetId!, u]));
  // Uploads whose asset is not listed yet (prepare still running, or it failed).
  const pending = uploads.filter((u) => !u.assetId || !nodes.some((n) => n.id === u.assetId));

  return (
    <section aria-label="Your audio">
      {error && <p className="error-text" role="alert">Could not load your audio: {error.message}</p>}
      {deleteError && <p className="error-text" role="alert">Could not delete: {deleteError}</p>}
      <ul className="assets">
        {pending.map((u) => (
          <li key={`u${u.key}`} className={`asset ${u.error ? 'asset-failed' : 'asset-awaiting_upload'}`} data-status={u.error ? 'FAILED' : 'UPLOADING'}>
            <div className="asset-head">
              <span className="filename">{u.filename}</span>
              {u.error && (
                <button type="button" className="delete" onClick={() => onDismiss(u.key)} aria-label={`Dismiss ${u.filename}`}>
                  ✕
                </button>
              )}
            </div>
            <div className={`status status-${u.error ? 'failed' : 'uploading'}`} role={u.error ? 'alert' : undefined}>
              {u.error ? <span className="error-message">Upload failed: {u.error}</span> : 'Uploading…'}
            </div>
          </li>
        ))}
        {nodes.map((asset) => (
          <AssetCard key={asset.id} asset={asset} upload={byAsset.get(asset.id)} deleting={deleting.has(asset.id)} onDelete={() => void remove(asset.id)} />
        ))}
      </ul>
      {!loading && nodes.length === 0 && pending.length === 0 && <p className="empty">No audio yet: pick, drop or record some.</p>}
      {data?.assets.pageInfo.hasNextPage && (
        <button type="button" className="more" onClick={() => void fetchMore({ variables: { after: data.assets.pageInfo.endCursor } })}>
          Show older
        </button>
      )}
    </section>
  );
}
