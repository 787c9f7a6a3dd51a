import { ApiKeyVerifier, bearerToken, describeApiKeys, parseApiKeys } from './api-keys';

const SCOPES = ['write', 'read'] as const;
const A = 'a-secret-0123456789abcdef';
const B = 'b-secret-0123456789abcdef';

describe('parseApiKeys', () => {
  it('reads entries separated by commas or new lines, skipping blanks and comments', () => {
    expect(parseApiKeys(`ingest:write:${A}, dash:read:${B}`, SCOPES)).toEqual([
      { name: 'ingest', scope: 'write', secret: A },
      { name: 'dash', scope: 'read', secret: B },
    ]);
    expect(parseApiKeys(`# keys\ningest:write:${A}\n\n  dash:read:${B}  \n`, SCOPES)).toHaveLength(2);
  });

  it('keeps colons inside the secret', () => {
    expect(parseApiKeys(`k:read:${A}:x`, SCOPES)).toEqual([{ name: 'k', scope: 'read', secret: `${A}:x` }]);
  });

  it.each([
    ['', 'nothing'],
    [`ingest:admin:${A}`, 'an unknown scope'],
    ['ingest:write:short', 'a short secret'],
    [`ingest:write`, 'no secret'],
    [`in gest:write:${A}`, 'a space in the name'],
    [`:write:${A}`, 'an empty name'],
    [`a:write:${A},a:read:${B}`, 'a repeated name'],
    [`a:write:${A},b:read:${A}`, 'a repeated secret'],
    [`a:write:${A} x`, 'a space in the secret'],
  ])('refuses %j (%s)', (text) => {
    expect(parseApiKeys(text, SCOPES)).toBeUndefined();
  });

  it('describes keys without their secrets', () => {
    expect(describeApiKeys(parseApiKeys(`ingest:write:${A},dash:read:${B}`, SCOPES)!)).toBe('ingest:write:***,dash:read:***');
  });
});

describe('ApiKeyVerifier', () => {
  const verifier = new ApiKeyVerifier(parseApiKeys(`ingest:write:${A},dash:read:${B}`, SCOPES)!);

  it('finds the key of a token', () => {
    expect(verifier.verify(A)?.name).toBe('ingest');
    expect(verifier.verify(B)?.name).toBe('dash');
  });

  it.each(['', A.slice(0, -1), `${A}x`, A.toUpperCase(), 'x'.repeat(10_000)])('knows no key for %j', (token) => {
    expect(verifier.verify(token)).toBeUndefined();
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc ', 'abc'],
    ['Basic abc', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
    [`Bearer ${'a'.repeat(2000)}`, undefined],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});
