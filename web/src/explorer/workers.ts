// Monaco's workers for GraphiQL, as Vite worker chunks served from our own
// origin. The same as `graphiql/setup-workers/vite`, but in our code: Vite's
// dev-server dependency optimizer cannot pre-bundle `?worker` imports that sit
// inside node_modules (the production build can; the dev server could not).
import JsonWorker from 'monaco-editor/esm/vs/language/json/json.worker.js?worker';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';
import GraphQLWorker from 'monaco-graphql/esm/graphql.worker.js?worker';

(globalThis as { MonacoEnvironment?: unknown }).MonacoEnvironment = {
  getWorker(_workerId: string, label: string): Worker {
    if (label === 'json') return new JsonWorker();
    if (label === 'graphql') return new GraphQLWorker();
    return new EditorWorker();
  },
};
