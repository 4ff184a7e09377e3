// How big, deep and costly one GraphQL operation may be, for HTTP (Apollo)
// and WebSocket (graphql-ws) alike. Every limit is checked before anything
// executes: size and token count while parsing, depth while validating,
// cost once the variables are known.
import type { ApolloServerPlugin } from '@apollo/server';
import type express from 'express';
import {
  BREAK,
  type DocumentNode,
  type ExecutionArgs,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type SelectionSetNode,
  type ValidationRule,
  getOperationAST,
  getVariableValues,
  parse,
  specifiedRules,
  type ValueNode,
  validate,
  visit,
} from 'graphql';
import { type ComplexityEstimator, getComplexity } from 'graphql-query-complexity';

/**
 * The budget. The web app's largest operation (assets(first: 50) with every
 * field and a waveform) costs about 1,300; assets(first: 100) about 2,600.
 * The introspection query the explorers send has about 200 tokens, depth 13.
 */
export const GRAPHQL_LIMITS = {
  /** Bytes of query text: the web app's documents are under 1 KiB, introspection ~2 KiB. */
  maxDocumentBytes: 32 * 1024,
  /** graphql-js stops parsing past this many tokens (parse's `maxTokens`). */
  maxTokens: 5_000,
  /** Selection-set nesting. Our types do not nest; only introspection recurses (type -> fields -> type ...). */
  maxDepth: 15,
  maxComplexity: 5_000,
  /** Evaluation steps of the cost walk (fragment spreads re-counted), against fragment-doubling documents. */
  maxComplexityNodes: 20_000,
} as const;

/**
 * What one field costs beyond 1, where it does real work per item. Envelope
 * reads are batched per request and cached (services/envelope-store.ts), so
 * a waveform costs its reduction of at most 8,192 peaks and the values it
 * returns, not a query of its own.
 */
const FIELD_COSTS: Readonly<Record<string, number | ((args: Record<string, unknown>) => number)>> = {
  'AudioAsset.waveform': (args) => 6 + Math.ceil((typeof args['bars'] === 'number' ? Math.min(Math.max(args['bars'], 1), 1024) : 64) / 64),
  'AudioAsset.chatWaveform': 10, // the same reduction, up to 256 values, rescaled and packed
  'AudioAsset.url': 2, // signs a URL
  'WaveformData.datUrl': 2,
  'WaveformData.jsonUrl': 2,
  // Clients send one mutation per document: a budget of 5,000 allows ~50, so
  // a document of hundreds of aliased mutations is refused before any runs.
  'Mutation.prepareAudioUpload': 100,
  'Mutation.completeAudioUpload': 100,
  'Mutation.renewUploadUrls': 100,
  'Mutation.deleteAudioAsset': 100,
  'Subscription.assetUpdated': 10,
};

/**
 * Lists whose length the server bounds without a `first`: their items' cost
 * counts this many times. waveformData has one level per x4 zoom down to
 * 4,096 pairs: six for the longest audio accepted by default, seven with room.
 */
const LIST_LENGTHS: Readonly<Record<string, number>> = {
  'AudioAsset.waveformData': 7,
};

/** `first` multiplies what is below a connection; capped at the service's own maximum (100), which refuses more. */
const estimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const key = `${type.name}.${field.name}`;
  const price = FIELD_COSTS[key] ?? 1;
  const own = typeof price === 'function' ? price(args) : price;
  const first = typeof args['first'] === 'number' ? Math.min(Math.max(args['first'], 1), 100) : (LIST_LENGTHS[key] ?? 1);
  return own + childComplexity * first;
};

const refused = (message: string, code = 'GRAPHQL_VALIDATION_FAILED', status = 400) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

/**
 * Longest chain of nested selection sets in each operation, fragments
 * included, counting introspection fields too (graphql-depth-limit skips
 * them, follows fragment cycles until the stack overflows and throws on an
 * unknown fragment). Fragment depths are memoised, so a document that
 * spreads fragments many times over costs one pass.
 */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context) => {
    const fragments = new Map<string, SelectionSetNode>();
    for (const d of context.getDocument().definitions) {
      if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d.selectionSet);
    }
    const memo = new Map<string, number>();
    const visiting = new Set<string>();
    const depthOf = (set: SelectionSetNode): number => {
      let deepest = 0;
      for (const s of set.selections) {
        let d = 0;
        if (s.kind === Kind.FIELD) d = s.selectionSet ? 1 + depthOf(s.selectionSet) : 1;
        else if (s.kind === Kind.INLINE_FRAGMENT) d = depthOf(s.selectionSet);
        else d = fragmentDepth(s.name.value);
        if (d > deepest) deepest = d;
      }
      return deepest;
    };
    // Unknown fragments and cycles count 0 here: other rules report them.
    const fragmentDepth = (name: string): number => {
      const known = memo.get(name);
      if (known !== undefined) return known;
      const set = fragments.get(name);
      if (!set || visiting.has(name)) return 0;
      visiting.add(name);
      const d = depthOf(set);
      visiting.delete(name);
      memo.set(name, d);
      return d;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet);
        if (depth > maxDepth) {
          context.reportError(new GraphQLError(`operation depth ${depth} is over the limit of ${maxDepth}`, { nodes: [node] }));
        }
      },
    };
  };
}

/**
 * Cost of the operation that will run, or null when its variables do not
 * coerce (execution then refuses them with its own BAD_USER_INPUT error).
 * Throws a GraphQLError when the walk itself passes maxComplexityNodes.
 */
export function operationComplexity(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined,
): number | null {
  const operation = getOperationAST(document, operationName);
  if (!operation) return null;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return null;
  return getComplexity({
    schema,
    query: document,
    variables: variables ?? {},
    ...(operation.name ? { operationName: operation.name.value } : {}),
    estimators: [estimator],
    maxQueryNodes: GRAPHQL_LIMITS.maxComplexityNodes,
  });
}

/**
 * Costs of documents whose cost cannot depend on their variables (no
 * variable in a `first` argument or a directive), per operation name. Apollo
 * hands every request with the same query text the same parsed DocumentNode,
 * so a client's fixed operations are costed once, not per request.
 */
const costMemo = new WeakMap<DocumentNode, Map<string, number> | null>();

function containsVariable(v: ValueNode): boolean {
  if (v.kind === Kind.VARIABLE) return true;
  if (v.kind === Kind.LIST) return v.values.some(containsVariable);
  if (v.kind === Kind.OBJECT) return v.fields.some((f) => containsVariable(f.value));
  return false;
}

/** The memo for this document, or null when its cost may depend on its variables. */
function memoFor(document: DocumentNode): Map<string, number> | null {
  let memo = costMemo.get(document);
  if (memo !== undefined) return memo;
  let dependent = false;
  visit(document, {
    Argument(node) {
      if (node.name.value === 'first' && containsVariable(node.value)) return ((dependent = true), BREAK);
      return undefined;
    },
    Directive(node) {
      if (node.arguments?.some((a) => containsVariable(a.value))) return ((dependent = true), BREAK);
      return undefined;
    },
  });
  memo = dependent ? null : new Map();
  costMemo.set(document, memo);
  return memo;
}

/** Throws when the operation is over budget; its cost otherwise (null: variables that do not coerce). */
function checkComplexity(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined,
  operationName: string | null | undefined): number | null {
  const memo = memoFor(document);
  const known = memo?.get(operationName ?? '');
  // Only a cost within budget is taken from the memo: refusals are worked out (and worded) afresh.
  if (known !== undefined && known <= GRAPHQL_LIMITS.maxComplexity) return known;
  let cost: number | null;
  try {
    cost = operationComplexity(schema, document, variables, operationName);
  } catch (e) {
    throw refused(e instanceof GraphQLError ? e.message : 'the operation cost could not be computed');
  }
  if (cost !== null) memo?.set(operationName ?? '', cost);
  if (cost !== null && cost > GRAPHQL_LIMITS.maxComplexity) {
    throw refused(`operation complexity ${cost} is over the limit of ${GRAPHQL_LIMITS.maxComplexity}`);
  }
  return cost;
}

/** Charges an accepted operation's cost to its viewer's budget (server/query-budget.ts); throws to refuse it. */
export type ChargeCost<TContext> = (cost: number, context: TContext) => Promise<void>;

/** Apollo: the cost check, once the operation and its variables are known and before it executes; then the charge. */
export function complexityPlugin<TContext extends object>(schema: GraphQLSchema, charge?: ChargeCost<TContext>): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, contextValue }) {
          const cost = checkComplexity(schema, document, request.variables, request.operationName);
          if (charge && cost !== null) await charge(cost, contextValue);
        },
      };
    },
  };
}

const tooLarge = (bytes: number) =>
  `query document is ${bytes} bytes, over the limit of ${GRAPHQL_LIMITS.maxDocumentBytes}`;

/** Express, after the JSON parser: refuses an oversized query text with 413 before Apollo parses it. */
export function documentSizeGuard(): express.RequestHandler {
  return (req, res, next) => {
    const body = req.body as { query?: unknown } | undefined;
    const query = (body && typeof body === 'object' ? body.query : undefined) ?? req.query['query'];
    const bytes = typeof query === 'string' ? Buffer.byteLength(query) : 0;
    if (bytes > GRAPHQL_LIMITS.maxDocumentBytes) {
      res.status(413).json({ errors: [{ message: tooLarge(bytes), extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
      return;
    }
    next();
  };
}

export interface OperationRequest {
  query?: unknown;
  variables?: Record<string, unknown> | null | undefined;
  operationName?: string | null | undefined;
}

/**
 * graphql-ws: the same limits as HTTP (graphql-ws alone parses and validates
 * with none of them, introspection included). Errors or execution arguments.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  payload: OperationRequest,
  introspection: boolean,
  onCost?: (cost: number) => void,
): ExecutionArgs | GraphQLError[] {
  if (typeof payload.query !== 'string') return [refused('query must be a string', 'BAD_REQUEST')];
  const bytes = Buffer.byteLength(payload.query);
  if (bytes > GRAPHQL_LIMITS.maxDocumentBytes) return [refused(tooLarge(bytes), 'PAYLOAD_TOO_LARGE', 413)];
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: GRAPHQL_LIMITS.maxTokens });
  } catch (e) {
    return [refused(e instanceof GraphQLError ? e.message : 'syntax error', 'GRAPHQL_PARSE_FAILED')];
  }
  const rules = [...specifiedRules, depthLimitRule(GRAPHQL_LIMITS.maxDepth), ...(introspection ? [] : [NoSchemaIntrospectionCustomRule])];
  const errors = validate(schema, document, rules, { maxErrors: 10 });
  // Without introspection, "Did you mean ...?" would hand out the schema piece by piece (as Apollo's hideSchemaDetailsFromClientErrors).
  if (errors.length > 0) return errors.map((e) => refused(introspection ? e.message : e.message.replace(/ ?Did you mean(.+?)\?$/, '')));
  const variables = payload.variables ?? undefined;
  try {
    const cost = checkComplexity(schema, document, variables, payload.operationName);
    if (cost !== null) onCost?.(cost);
  } catch (e) {
    return [e as GraphQLError];
  }
  return { schema, document, variableValues: variables, operationName: payload.operationName ?? null };
}
