import { randomUUID } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';

/**
 * One request id per GraphQL operation: in the `x-request-id` response
 * header and on every log line about it, and each operation's latency in
 * the metrics (by operation type and outcome).
 */
export function observabilityPlugin(log: Logger, metrics: Metrics | null): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const started = process.hrtime.bigint();
      const requestId = randomUUID();
      // Made when a line is written, not per request: most operations log nothing at info level.
      let opLog: Logger | null = null;
      const logger = () => (opLog ??= log.child({ requestId }));
      return {
        async willSendResponse({ response, operation, errors }) {
          response.http.headers.set('x-request-id', requestId);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const type = operation?.operation ?? 'unknown';
          const outcome = errors?.length ? 'error' : 'ok';
          metrics?.operationSeconds.observe({ type, outcome }, seconds);
          if (log.isLevelEnabled('debug')) {
            logger().debug({ operationName: request.operationName ?? null, type, outcome, ms: Math.round(seconds * 1000) }, 'graphql operation');
          }
        },
        async didEncounterErrors({ errors }) {
          logger().info({ operationName: request.operationName ?? null, codes: errors.map((e) => e.extensions?.['code'] ?? null) }, 'graphql operation errors');
        },
      };
    },
  };
}
