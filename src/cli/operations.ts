// The operations `npm run upload` sends; typed by `npm run codegen` (src/generated/cli).
import { graphql } from '../generated/cli/index.js';

export const Prepare = graphql(`
  mutation CliPrepare($input: PrepareAudioUploadInput!) {
    prepareAudioUpload(input: $input) {
      asset { id status }
      uploadUrl
      uploadHeaders { name value }
      multipart { partSize parts { partNumber url } }
    }
  }
`);

export const Complete = graphql(`
  mutation CliComplete($input: CompleteAudioUploadInput!) {
    completeAudioUpload(input: $input) { id status progress error { code message } }
  }
`);

export const Updated = graphql(`
  subscription CliAssetUpdated($id: ID!) {
    assetUpdated(id: $id) { id status progress detectedType error { code message } }
  }
`);

export const Result = graphql(`
  query CliResult($id: ID!, $bars: Int!) {
    asset(id: $id) { id status url duration waveform(bars: $bars) error { code message } }
  }
`);
