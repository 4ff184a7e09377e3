import { registerEnumType } from 'type-graphql';
import { AssetErrorCode, AssetStatus } from '../domain/asset-status.js';

registerEnumType(AssetStatus, {
  name: 'AssetStatus',
  description: 'Where an asset is in its life.',
  valuesConfig: {
    AWAITING_UPLOAD: { description: 'Prepared; the client has not (yet) confirmed the upload.' },
    QUEUED: { description: 'Upload confirmed; waiting for a worker. The original is quarantined.' },
    PROCESSING: { description: 'A worker is validating and transcoding it.' },
    DONE: { description: 'The clean M4A, waveform and duration are ready.' },
    FAILED: { description: 'Processing ended without a playable result; see `error`.' },
  },
});

registerEnumType(AssetErrorCode, {
  name: 'AssetErrorCode',
  description: 'Why an asset FAILED.',
});

export { AssetErrorCode, AssetStatus };
