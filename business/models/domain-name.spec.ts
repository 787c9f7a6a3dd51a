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
    ['1.2.3.com', '1.2.3.com'],
    ['a.0x1g', 'a.0x1g'],
    ['0x7f.com', '0x7f.com'],
    ['XN--BCHER-KVA.DE', 'xn--bcher-kva.de'],
    ['xn--ls8h.la', 'xn--ls8h.la'],
    ['ab.xn--p1ai', 'ab.xn--p1ai'],
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
    // Punycode that decodes to no IDN label, whichever path reads it.
    ['xn--a.com', /not valid punycode/],
    ['XN--A.COM', /not valid punycode/],
    ['xn--a.com.', /not valid punycode/],
    ['sub.xn--a.com', /not valid punycode/],
    ['xn--xn--a.com', /not valid punycode/],
    ['xn--a.bücher.de', /internationalised/],
    // IP literals and what a URL host parser reads as one (WHATWG "ends in a number").
    ['1.2.3.4', /IP address/],
    ['127.1', /IP address/],
    ['0x7f.0.0.1', /IP address/],
    ['0X7F.0.0.1', /IP address/],
    ['\uff11\uff12\uff17.\uff11', /IP address/],
    ['\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11', /IP address/],
    ['example.123', /IP address/],
    ['a.0x', /IP address/],
    ['a.0x1f', /IP address/],
    ['[::1]', /IP address/],
    ['::1', /IP address/],
    ['[2001:db8::1]', /IP address/],
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
