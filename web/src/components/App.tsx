import { useApolloClient } from '@apollo/client/react';
import { useUploads } from '../uploads';
import { AssetList } from './AssetList';
import { Uploader } from './Uploader';

// Set by the service (src/server/web.ts) only where it serves the explorer.
const explorerUrl = document.querySelector<HTMLMetaElement>('meta[name="graphql-explorer"]')?.content;

export function App() {
  const { uploads, start, dismiss } = useUploads(useApolloClient());
  return (
    <main>
      <header>
        <h1>Audio</h1>
        {explorerUrl && (
          <a href={explorerUrl} className="explorer-link">
            GraphQL explorer
          </a>
        )}
      </header>
      <Uploader onFiles={start} />
      <AssetList uploads={uploads} onDismiss={dismiss} />
    </main>
  );
}

export function NoToken() {
  return (
    <main>
      <h1>Audio</h1>
      <p className="error-text" role="alert">
        No token. Open this page as <code>/#token=&lt;JWT&gt;</code> (a bearer token whose <code>sub</code> is you).
      </p>
    </main>
  );
}
