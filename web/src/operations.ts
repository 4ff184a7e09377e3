// Every operation the web app sends. `npm run codegen` turns these into
// TypedDocumentNodes (web/src/gql), so results and variables are typed.
import { graphql } from './gql';

/** Bars the player draws; the same in every document so the cache shares one `waveform` field. */
export const BARS = 64;

export const AssetFieldsFragment = graphql(`
  fragment AssetFields on AudioAsset {
    id
    status
    filename
    size
    progress
    url
    duration
    waveform(bars: 64)
    loudness { integrated range truePeak }
    renditions { format url mimeType }
    error { code message }
    createdAt
  }
`);

export const AssetsQuery = graphql(`
  query Assets($first: Int!, $after: String) {
    assets(first: $first, after: $after) {
      nodes { ...AssetFields }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** Just a fresh presigned `url`, for a player whose URL expired. */
export const AssetUrlQuery = graphql(`
  query AssetUrl($id: ID!) {
    asset(id: $id) { id url renditions { format url mimeType } }
  }
`);

export const AssetUpdatedSubscription = graphql(`
  subscription AssetUpdated {
    assetUpdated { ...AssetFields }
  }
`);

export const PrepareUploadMutation = graphql(`
  mutation PrepareUpload($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) {
      asset { ...AssetFields }
      uploadUrl
      uploadHeaders { name value }
      multipart { partSize parts { partNumber url } }
    }
  }
`);

export const CompleteUploadMutation = graphql(`
  mutation CompleteUpload($input: CompleteAudioUploadInput!) {
    completeAudioUpload(input: $input) { ...AssetFields }
  }
`);

export const DeleteAssetMutation = graphql(`
  mutation DeleteAsset($id: ID!) {
    deleteAudioAsset(id: $id)
  }
`);
