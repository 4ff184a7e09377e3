// Where the bearer token comes from (contract, `/`): the URL fragment
// `#token=<JWT>` (never sent to servers or logs), else, in development, the
// service's /dev/token. That endpoint does not exist in production: then null.

export async function resolveToken(): Promise<string | null> {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromFragment) return fromFragment;
  try {
    const res = await fetch('/dev/token', { headers: { accept: 'application/json' } });
    if (!res.ok) return null;
    const body = (await res.json()) as { token?: unknown };
    return typeof body.token === 'string' ? body.token : null;
  } catch {
    return null;
  }
}

/** ws(s)://<this host>/graphql: same origin as the page, so it works behind any proxy. */
export function graphqlWsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
}
