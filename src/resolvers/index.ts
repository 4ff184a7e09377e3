import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { AssetFieldsResolver } from './asset-fields.resolver.js';
import { AssetLoudnessResolver } from './asset-loudness.resolver.js';
import { AssetResolver } from './asset.resolver.js';
import { UploadResolver } from './upload.resolver.js';
import { UsageResolver } from './usage.resolver.js';
import { WaveformResolver } from './waveform.resolver.js';

export function buildAppSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [AssetResolver, AssetFieldsResolver, AssetLoudnessResolver, UploadResolver, UsageResolver, WaveformResolver],
    // Inputs are checked by the services (domain/upload-policy.ts), not class-validator.
    validate: false,
    // type-graphql insists on a PubSub even when every subscription brings its
    // own `subscribe` (ours reads PostgreSQL LISTEN/NOTIFY: events/asset-events.ts).
    pubSub: {
      publish: () => {
        throw new Error('events are published through PostgreSQL, not the schema PubSub');
      },
      subscribe: () => {
        throw new Error('subscriptions bring their own subscribe function');
      },
    },
  });
}
