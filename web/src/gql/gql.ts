/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment AssetFields on AudioAsset {\n    id\n    status\n    filename\n    size\n    progress\n    url\n    duration\n    waveform(bars: 64)\n    loudness { integrated range truePeak }\n    renditions { format url mimeType }\n    error { code message }\n    createdAt\n  }\n": typeof types.AssetFieldsFragmentDoc,
    "\n  query Assets($first: Int!, $after: String) {\n    assets(first: $first, after: $after) {\n      nodes { ...AssetFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": typeof types.AssetsDocument,
    "\n  query AssetUrl($id: ID!) {\n    asset(id: $id) { id url renditions { format url mimeType } }\n  }\n": typeof types.AssetUrlDocument,
    "\n  subscription AssetUpdated {\n    assetUpdated { ...AssetFields }\n  }\n": typeof types.AssetUpdatedDocument,
    "\n  fragment PreparedUploadFields on PreparedUpload {\n    asset { ...AssetFields }\n    uploadUrl\n    uploadHeaders { name value }\n    multipart { partSize parts { partNumber url } }\n    expiresAt\n    uploadedParts { partNumber etag }\n  }\n": typeof types.PreparedUploadFieldsFragmentDoc,
    "\n  mutation PrepareUpload($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      ...PreparedUploadFields\n    }\n  }\n": typeof types.PrepareUploadDocument,
    "\n  mutation RenewUploadUrls($id: ID!) {\n    renewUploadUrls(id: $id) {\n      ...PreparedUploadFields\n    }\n  }\n": typeof types.RenewUploadUrlsDocument,
    "\n  mutation RecordUploadedPart($input: RecordUploadedPartInput!) {\n    recordUploadedPart(input: $input) { partNumber }\n  }\n": typeof types.RecordUploadedPartDocument,
    "\n  mutation CompleteUpload($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { ...AssetFields }\n  }\n": typeof types.CompleteUploadDocument,
    "\n  mutation DeleteAsset($id: ID!) {\n    deleteAudioAsset(id: $id)\n  }\n": typeof types.DeleteAssetDocument,
    "\n  query WaveformData($id: ID!) {\n    asset(id: $id) { id waveformData { sampleRate samplesPerPixel length bits datUrl } }\n  }\n": typeof types.WaveformDataDocument,
};
const documents: Documents = {
    "\n  fragment AssetFields on AudioAsset {\n    id\n    status\n    filename\n    size\n    progress\n    url\n    duration\n    waveform(bars: 64)\n    loudness { integrated range truePeak }\n    renditions { format url mimeType }\n    error { code message }\n    createdAt\n  }\n": types.AssetFieldsFragmentDoc,
    "\n  query Assets($first: Int!, $after: String) {\n    assets(first: $first, after: $after) {\n      nodes { ...AssetFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n": types.AssetsDocument,
    "\n  query AssetUrl($id: ID!) {\n    asset(id: $id) { id url renditions { format url mimeType } }\n  }\n": types.AssetUrlDocument,
    "\n  subscription AssetUpdated {\n    assetUpdated { ...AssetFields }\n  }\n": types.AssetUpdatedDocument,
    "\n  fragment PreparedUploadFields on PreparedUpload {\n    asset { ...AssetFields }\n    uploadUrl\n    uploadHeaders { name value }\n    multipart { partSize parts { partNumber url } }\n    expiresAt\n    uploadedParts { partNumber etag }\n  }\n": types.PreparedUploadFieldsFragmentDoc,
    "\n  mutation PrepareUpload($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      ...PreparedUploadFields\n    }\n  }\n": types.PrepareUploadDocument,
    "\n  mutation RenewUploadUrls($id: ID!) {\n    renewUploadUrls(id: $id) {\n      ...PreparedUploadFields\n    }\n  }\n": types.RenewUploadUrlsDocument,
    "\n  mutation RecordUploadedPart($input: RecordUploadedPartInput!) {\n    recordUploadedPart(input: $input) { partNumber }\n  }\n": types.RecordUploadedPartDocument,
    "\n  mutation CompleteUpload($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { ...AssetFields }\n  }\n": types.CompleteUploadDocument,
    "\n  mutation DeleteAsset($id: ID!) {\n    deleteAudioAsset(id: $id)\n  }\n": types.DeleteAssetDocument,
    "\n  query WaveformData($id: ID!) {\n    asset(id: $id) { id waveformData { sampleRate samplesPerPixel length bits datUrl } }\n  }\n": types.WaveformDataDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment AssetFields on AudioAsset {\n    id\n    status\n    filename\n    size\n    progress\n    url\n    duration\n    waveform(bars: 64)\n    loudness { integrated range truePeak }\n    renditions { format url mimeType }\n    error { code message }\n    createdAt\n  }\n"): (typeof documents)["\n  fragment AssetFields on AudioAsset {\n    id\n    status\n    filename\n    size\n    progress\n    url\n    duration\n    waveform(bars: 64)\n    loudness { integrated range truePeak }\n    renditions { format url mimeType }\n    error { code message }\n    createdAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Assets($first: Int!, $after: String) {\n    assets(first: $first, after: $after) {\n      nodes { ...AssetFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"): (typeof documents)["\n  query Assets($first: Int!, $after: String) {\n    assets(first: $first, after: $after) {\n      nodes { ...AssetFields }\n      pageInfo { hasNextPage endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AssetUrl($id: ID!) {\n    asset(id: $id) { id url renditions { format url mimeType } }\n  }\n"): (typeof documents)["\n  query AssetUrl($id: ID!) {\n    asset(id: $id) { id url renditions { format url mimeType } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription AssetUpdated {\n    assetUpdated { ...AssetFields }\n  }\n"): (typeof documents)["\n  subscription AssetUpdated {\n    assetUpdated { ...AssetFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment PreparedUploadFields on PreparedUpload {\n    asset { ...AssetFields }\n    uploadUrl\n    uploadHeaders { name value }\n    multipart { partSize parts { partNumber url } }\n    expiresAt\n    uploadedParts { partNumber etag }\n  }\n"): (typeof documents)["\n  fragment PreparedUploadFields on PreparedUpload {\n    asset { ...AssetFields }\n    uploadUrl\n    uploadHeaders { name value }\n    multipart { partSize parts { partNumber url } }\n    expiresAt\n    uploadedParts { partNumber etag }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PrepareUpload($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      ...PreparedUploadFields\n    }\n  }\n"): (typeof documents)["\n  mutation PrepareUpload($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      ...PreparedUploadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RenewUploadUrls($id: ID!) {\n    renewUploadUrls(id: $id) {\n      ...PreparedUploadFields\n    }\n  }\n"): (typeof documents)["\n  mutation RenewUploadUrls($id: ID!) {\n    renewUploadUrls(id: $id) {\n      ...PreparedUploadFields\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RecordUploadedPart($input: RecordUploadedPartInput!) {\n    recordUploadedPart(input: $input) { partNumber }\n  }\n"): (typeof documents)["\n  mutation RecordUploadedPart($input: RecordUploadedPartInput!) {\n    recordUploadedPart(input: $input) { partNumber }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CompleteUpload($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { ...AssetFields }\n  }\n"): (typeof documents)["\n  mutation CompleteUpload($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { ...AssetFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteAsset($id: ID!) {\n    deleteAudioAsset(id: $id)\n  }\n"): (typeof documents)["\n  mutation DeleteAsset($id: ID!) {\n    deleteAudioAsset(id: $id)\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query WaveformData($id: ID!) {\n    asset(id: $id) { id waveformData { sampleRate samplesPerPixel length bits datUrl } }\n  }\n"): (typeof documents)["\n  query WaveformData($id: ID!) {\n    asset(id: $id) { id waveformData { sampleRate samplesPerPixel length bits datUrl } }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;