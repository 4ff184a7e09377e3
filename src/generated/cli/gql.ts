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
    "\n  mutation CliPrepare($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      asset { id status }\n      uploadUrl\n      uploadHeaders { name value }\n      multipart { partSize parts { partNumber url } }\n    }\n  }\n": typeof types.CliPrepareDocument,
    "\n  mutation CliComplete($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { id status progress error { code message } }\n  }\n": typeof types.CliCompleteDocument,
    "\n  subscription CliAssetUpdated($id: ID!) {\n    assetUpdated(id: $id) { id status progress detectedType error { code message } }\n  }\n": typeof types.CliAssetUpdatedDocument,
    "\n  query CliResult($id: ID!, $bars: Int!) {\n    asset(id: $id) { id status url duration waveform(bars: $bars) error { code message } }\n  }\n": typeof types.CliResultDocument,
};
const documents: Documents = {
    "\n  mutation CliPrepare($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      asset { id status }\n      uploadUrl\n      uploadHeaders { name value }\n      multipart { partSize parts { partNumber url } }\n    }\n  }\n": types.CliPrepareDocument,
    "\n  mutation CliComplete($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { id status progress error { code message } }\n  }\n": types.CliCompleteDocument,
    "\n  subscription CliAssetUpdated($id: ID!) {\n    assetUpdated(id: $id) { id status progress detectedType error { code message } }\n  }\n": types.CliAssetUpdatedDocument,
    "\n  query CliResult($id: ID!, $bars: Int!) {\n    asset(id: $id) { id status url duration waveform(bars: $bars) error { code message } }\n  }\n": types.CliResultDocument,
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
export function graphql(source: "\n  mutation CliPrepare($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      asset { id status }\n      uploadUrl\n      uploadHeaders { name value }\n      multipart { partSize parts { partNumber url } }\n    }\n  }\n"): (typeof documents)["\n  mutation CliPrepare($input: PrepareAudioUploadInput!) {\n    prepareAudioUpload(input: $input) {\n      asset { id status }\n      uploadUrl\n      uploadHeaders { name value }\n      multipart { partSize parts { partNumber url } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CliComplete($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { id status progress error { code message } }\n  }\n"): (typeof documents)["\n  mutation CliComplete($input: CompleteAudioUploadInput!) {\n    completeAudioUpload(input: $input) { id status progress error { code message } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CliAssetUpdated($id: ID!) {\n    assetUpdated(id: $id) { id status progress detectedType error { code message } }\n  }\n"): (typeof documents)["\n  subscription CliAssetUpdated($id: ID!) {\n    assetUpdated(id: $id) { id status progress detectedType error { code message } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query CliResult($id: ID!, $bars: Int!) {\n    asset(id: $id) { id status url duration waveform(bars: $bars) error { code message } }\n  }\n"): (typeof documents)["\n  query CliResult($id: ID!, $bars: Int!) {\n    asset(id: $id) { id status url duration waveform(bars: $bars) error { code message } }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;