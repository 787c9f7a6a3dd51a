// API keys: `name:scope:secret` entries, and a verifier that finds the key a
// bearer token belongs to in constant time. Secrets are compared as SHA-256
// digests with timingSafeEqual against every key, so neither the secret's
// length nor which key matched (or how far a guess got) shows in the timing.
import { hash, timingSafeEqual } from 'node:crypto';

export interface ApiKey<S extends string = string> {
  name: string;
  scope: S;
  secret: string;
}

/** Names go into logs and metric labels: short and plain. */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** A secret long enough not to be guessed online; no separators or spaces. */
const SECRET = /^[\x21-\x2b\x2d-\x7e]{16,512}$/;

export function apiKeysAccepts(scopes: readonly string[]): string {
  return (
    `name:scope:secret entries separated by commas or new lines (scope one of ${scopes.join(', ')}; ` +
    'name of letters, digits, ".", "_" or "-"; secret of 16 or more printable characters, no commas)'
  );
}

/**
 * Parses entries separated by commas or new lines (blank lines and lines
 * starting with # are skipped). Returns undefined when any entry is invalid,
 * a name repeats, or a secret is used twice.
 */
export function parseApiKeys<S extends string>(text: string, scopes: readonly S[]): ApiKey<S>[] | undefined {
  const keys: ApiKey<S>[] = [];
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '' && !e.startsWith('#'));
  for (const entry of entries) {
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    if (first < 0 || second < 0) return undefined;
    const name = entry.slice(0, first);
    const scope = entry.slice(first + 1, second) as S;
    const secret = entry.slice(second + 1);
    if (!NAME.test(name) || !scopes.includes(scope) || !SECRET.test(secret)) return undefined;
    if (keys.some((k) => k.name === name || k.secret === secret)) return undefined;
    keys.push({ name, scope, secret });
  }
  return keys.length > 0 ? keys : undefined;
}

/** How keys may be shown in a log: names and scopes, never secrets. */
export function describeApiKeys(keys: readonly ApiKey[]): string {
  return keys.map((k) => `${k.name}:${k.scope}:***`).join(',');
}

export class ApiKeyVerifier<S extends string> {
  private readonly digests: Array<{ key: ApiKey<S>; digest: Buffer }>;

  constructor(keys: readonly ApiKey<S>[]) {
    this.digests = keys.map((key) => ({ key, digest: sha256(key.secret) }));
  }

  /** The key whose secret is `token`, or undefined. Looks at every key whatever matches. */
  verify(token: string): ApiKey<S> | undefined {
    const digest = sha256(token);
    let found: ApiKey<S> | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.key;
    }
    return found;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header || header.length > 1024) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return m ? m[1] : undefined;
}

/** One-shot crypto.hash: about half the cost of createHash().update().digest() here (docs/benchmarks.md). */
function sha256(s: string): Buffer {
  return hash('sha256', s, 'buffer');
}
