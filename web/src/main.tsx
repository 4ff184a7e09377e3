import './styles.css';
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createApollo } from './apollo';
import { App, NoToken } from './components/App';
import { resolveToken } from './token';

const root = createRoot(document.getElementById('root')!);
void resolveToken().then((token) =>
  root.render(
    <StrictMode>
      {token ? (
        <ApolloProvider client={createApollo(token)}>
          <App />
        </ApolloProvider>
      ) : (
        <NoToken />
      )}
    </StrictMode>,
  ),
);
