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

/** An upload session: prepare and renew share it, so a resumed upload has the same shape as a new one. */
export const PreparedUploadFieldsFragment = graphql(`
  fragment PreparedUploadFields on PreparedUpload {
    asset { ...AssetFields }
    uploadUrl
    uploadHeaders { name value }
    multipart { partSize parts { partNumber url } }
    expiresAt
    uploadedParts { partNumber etag }
  }
`);

export const PrepareUploadMutation = graphql(`
  mutation PrepareUpload($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) {
      ...PreparedUploadFields
    }
  }
`);

/** Fresh URLs for an upload still awaiting its file, and the parts storage already holds (resume). */
export const RenewUploadUrlsMutation = graphql(`
  mutation RenewUploadUrls($id: ID!) {
    renewUploadUrls(id: $id) {
      ...PreparedUploadFields
    }
  }
`);

/** Tells the service a part is stored, so a reloaded page skips it. */
export const RecordUploadedPartMutation = graphql(`
  mutation RecordUploadedPart($input: RecordUploadedPartInput!) {
    recordUploadedPart(input: $input) { partNumber }
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
