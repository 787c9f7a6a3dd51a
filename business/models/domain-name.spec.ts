import { parseDomainName } from './domain-name';

describe('parseDomainName', () => {
  const label63 = 'a'.repeat(63);
  const valid: Array<[string, string]> = [
    ['example.com', 'example.com'],
    ['Example.COM', 'example.com'],
    ['Example.COM.', 'example.com'],
    ['sub.domain.example.co.uk', 'sub.domain.example.co.uk'],
    ['a-b.c-d.io', 'a-b.c-d.io'],
    ['123.com', '123.com'],
    ['xn--mnchen-3ya.de', 'xn--mnchen-3ya.de'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['MÜNCHEN.DE.', 'xn--mnchen-3ya.de'],
    ['例え.jp', 'xn--r8jz45g.jp'],
    ['ＥＸＡＭＰＬＥ.com', 'example.com'],
    [`${label63}.com`, `${label63}.com`],
    [[label63, label63, label63, 'a'.repeat(61)].join('.'), [label63, label63, label63, 'a'.repeat(61)].join('.')],
  ];
  it.each(valid)('accepts %j as %j', (raw, expected) => {
    expect(parseDomainName(raw)).toEqual({ ok: true, value: expected });
  });

  const invalid: Array<[unknown, RegExp]> = [
    ['', /empty/],
    ['com', /two labels/],
    ['localhost.', /two labels/],
    ['a..com', /empty label/],
    ['.example.com', /empty label/],
    ['example.com..', /empty label/],
    ['under_score.com', /letters, digits and hyphens/],
    ['-start.com', /hyphen/],
    ['end-.com', /hyphen/],
    ['sp ace.com', /not allowed/],
    ['a.com/path', /not allowed/],
    ['user@a.com', /not allowed/],
    ['a.com:80', /not allowed/],
    [`${'a'.repeat(64)}.com`, /longer than 63/],
    [[label63, label63, label63, 'a'.repeat(62)].join('.'), /longer than 253/],
    ['x'.repeat(5000), /longer than 253/],
    [42, /must be a string/],
    [null, /must be a string/],
  ];
  it.each(invalid)('rejects %j', (raw, reason) => {
    const result = parseDomainName(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('treats case and one trailing dot as the same domain', () => {
    const a = parseDomainName('Example.COM.');
    const b = parseDomainName('example.com');
    expect(a).toEqual(b);
  });
});
