// Properties of the domain parser over generated inputs (fast-check): any
// string gives a canonical valid name or a reason, never a throw; parsing is
// idempotent; spellings of one name (case, trailing dot, Unicode or punycode)
// give one canonical form, so they count together.
import fc from 'fast-check';
import { domainToUnicode } from 'node:url';
import { parseDomainName } from './domain-name';

const CANONICAL = /^(?!.*\.\d+$)(?!.*\.0x[0-9a-f]*$)(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

// Characters that reach every branch: plain labels, case, dots (ASCII and
// fullwidth/ideographic), hyphens, digits, hex, IDN letters, IP and URL syntax.
const interesting = fc.constantFrom(
  ...'abcxyzABCXZ0179-.', 'xn--', 'XN--', '0x', '.', '-', 'ü', 'ß', 'é', '例', '公司', '💩', '\uff0e', '\u3002',
  '\uff11', '\uff10', 'Ｘ', '[', ']', ':', '/', '%', '@', ' ', '\u200d', '\u0301', '_',
);
const domainish = fc.array(interesting, { maxLength: 40 }).map((parts) => parts.join(''));
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
// Names built from labels, mostly valid: the properties about valid names need many.
const labelish = fc.oneof(
  label,
  fc.constantFrom('bücher', '例え', '💩', 'straße', 'MÜNCHEN', 'xn--bcher-kva', 'xn--a', 'XN--LS8H', '0x7f', '127', 'ｅｘａｍｐｌｅ'),
);
const nameish = fc
  .tuple(
    fc.array(labelish, { minLength: 1, maxLength: 3 }),
    fc.constantFrom('com', 'de', 'xn--p1ai', 'рф', '１', '0x1', 'ＣＯＭ', 'Org'),
    fc.constantFrom('.', '\uff0e', '\u3002'),
    fc.constantFrom('', '.'),
  )
  .map(([labels, tld, dot, end]) => [...labels, tld].join(dot) + end);
const anyString = fc.oneof(nameish, domainish, fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));
const validName = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.stringMatching(/^[a-z]{2,6}$/))
  .map(([labels, tld]) => [...labels, tld].join('.'))
  .filter((n) => parseDomainName(n).ok);

const RUNS = { numRuns: 2000 };

describe('parseDomainName (properties)', () => {
  it('never throws, and answers a canonical valid name or a non-empty reason', () => {
    fc.assert(
      fc.property(fc.oneof(anyString, fc.anything()), (raw) => {
        const result = parseDomainName(raw);
        if (result.ok) expect(result.value).toMatch(CANONICAL);
        else expect(result.reason.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('is idempotent: parse(parse(x)) = parse(x)', () => {
    fc.assert(
      fc.property(anyString, (raw) => {
        const once = parseDomainName(raw);
        if (once.ok) expect(parseDomainName(once.value)).toEqual(once);
      }),
      RUNS,
    );
  });

  it('gives one canonical form to case, trailing-dot and Unicode/punycode spellings of a name', () => {
    fc.assert(
      fc.property(anyString, fc.boolean(), (raw, dot) => {
        const canonical = parseDomainName(raw);
        if (!canonical.ok) return;
        const name = canonical.value;
        // ASCII letters only change case: 'ß'.toUpperCase() is 'SS', another name.
        const upper = (s: string) => s.replace(/[a-z]/g, (c) => c.toUpperCase());
        const spellings = [upper(name), `${name}${dot ? '.' : ''}`, domainToUnicode(name), upper(domainToUnicode(name))];
        for (const spelling of spellings) expect(parseDomainName(spelling)).toEqual(canonical);
      }),
      RUNS,
    );
  });

  it('accepts every plain valid name unchanged', () => {
    fc.assert(
      fc.property(validName, (name) => {
        expect(parseDomainName(name)).toEqual({ ok: true, value: name });
      }),
      RUNS,
    );
  });

  it('refuses every dotted-quad and IPv4 number spelling', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const spelling = fc.oneof(
      fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
      fc.tuple(octet, fc.integer({ min: 0, max: 0xffffff })).map(([a, b]) => `${a}.${b}`),
      fc.tuple(octet, octet, octet, octet).map((o) => o.map((n) => `0x${n.toString(16)}`).join('.')),
      fc.tuple(octet, octet, octet, octet).map((o) => o.join('.').replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))),
    );
    fc.assert(
      fc.property(spelling, fc.boolean(), (ip, dot) => {
        expect(parseDomainName(ip + (dot ? '.' : ''))).toEqual({ ok: false, reason: 'an IP address is not a domain' });
      }),
      RUNS,
    );
  });
});
