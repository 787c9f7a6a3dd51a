// Domain names as the service stores them: lower case, no trailing dot, IDN in
// punycode (ASCII) form, and valid RFC 1123 host names of at least two labels.
// One canonical form per name: every `xn--` label must decode to a valid IDN
// label (else `xn--a.com` and its neighbours would be names no one can spell in
// Unicode), and nothing that a URL host parser reads as an IP address is a
// domain (WHATWG: a host whose last label is a number is IPv4, so `127.1`,
// `0x7f.0.0.1` and fullwidth digits all become 127.0.0.1).
import { domainToASCII, domainToUnicode } from 'node:url';

export const MAX_DOMAIN_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

/** A normalised, valid domain name. The brand keeps raw strings out by type. */
export type DomainName = string & { readonly __brand: 'DomainName' };

export type DomainNameResult =
  | { ok: true; value: DomainName }
  | { ok: false; reason: string };

// Anything longer than this cannot become a valid name, whatever IDN does; it
// bounds the work a hostile input can cause.
const MAX_RAW_LENGTH = 1024;

const DOT = 0x2e;
const HYPHEN = 0x2d;

export function parseDomainName(raw: unknown): DomainNameResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'domain must be a string' };
  if (raw.length === 0) return { ok: false, reason: 'domain is empty' };
  if (raw.length > MAX_RAW_LENGTH) {
    return { ok: false, reason: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  }
  // Plain lower-case ASCII (the common case) needs no case folding or IDN conversion.
  const plain = isPlainLowerAscii(raw);
  let name = plain ? raw : raw.toLowerCase();
  if (name.charCodeAt(name.length - 1) === DOT) name = name.slice(0, -1);
  if (name.length === 0 || !(plain || isPlainLowerAscii(name))) {
    if (name.charCodeAt(0) === 0x5b || isIpv6Like(name)) return { ok: false, reason: IP_REASON };
    if (/[\s/\\@:?#[\]%]/.test(name)) {
      return { ok: false, reason: 'domain contains a character that is not allowed in a host name' };
    }
    const ascii = domainToASCII(name);
    if (ascii === '') return { ok: false, reason: 'domain is not a valid internationalised name' };
    name = ascii;
  }
  return validateAscii(name);
}

const IP_REASON = 'an IP address is not a domain';

/** `[::1]` without its brackets, or any other IPv6 spelling: colons and hex digits only. */
function isIpv6Like(s: string): boolean {
  return s.indexOf(':') !== s.lastIndexOf(':') && /^[0-9a-f:.]+$/.test(s);
}

/** Only a-z, 0-9, '-' and '.'. */
function isPlainLowerAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isLabelChar(c) && c !== DOT) return false;
  }
  return true;
}

/** a-z, 0-9 or '-': what a label of a lower-case host name may hold. */
function isLabelChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === HYPHEN;
}

/** RFC 1123 rules on an ASCII name, in one pass over its characters (this runs for every event). */
function validateAscii(name: string): DomainNameResult {
  const n = name.length;
  if (n === 0) return { ok: false, reason: 'domain is empty' };
  if (n > MAX_DOMAIN_LENGTH) {
    return { ok: false, reason: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  }
  if (name.indexOf('.') === -1) return { ok: false, reason: 'domain needs at least two labels (like example.com)' };
  let start = 0;
  let badChar = false;
  let punycode = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? name.charCodeAt(i) : DOT;
    if (c !== DOT) {
      if (!isLabelChar(c)) badChar = true;
      continue;
    }
    const length = i - start;
    if (length === 0) return { ok: false, reason: 'domain has an empty label' };
    if (length > MAX_LABEL_LENGTH) {
      return { ok: false, reason: `domain has a label longer than ${MAX_LABEL_LENGTH} characters` };
    }
    if (badChar || name.charCodeAt(start) === HYPHEN || name.charCodeAt(i - 1) === HYPHEN) {
      return {
        ok: false,
        reason: 'domain labels may hold only letters, digits and hyphens, and may not start or end with a hyphen',
      };
    }
    if (isAceLabel(name, start, length)) punycode = true;
    start = i + 1;
  }
  if (endsInNumber(name)) return { ok: false, reason: IP_REASON };
  if (punycode && !punycodeValid(name)) {
    return { ok: false, reason: 'domain has an xn-- label that is not valid punycode for an IDN label' };
  }
  return { ok: true, value: name as DomainName };
}

/** Starts with `xn--` (the name is lower case by now). Only these labels pay for decoding. */
function isAceLabel(name: string, start: number, length: number): boolean {
  return length >= 4 && name.charCodeAt(start + 2) === HYPHEN && name.charCodeAt(start + 3) === HYPHEN &&
    name.charCodeAt(start) === 0x78 && name.charCodeAt(start + 1) === 0x6e;
}

/**
 * WHATWG URL "ends in a number": the last label is all digits or a 0x hex
 * number, so a URL parser would read the host as IPv4 (and map it to another
 * spelling). No top-level domain is numeric.
 */
function endsInNumber(name: string): boolean {
  let i = name.lastIndexOf('.') + 1;
  const first = name.charCodeAt(i);
  if (!isDigit(first)) return false; // the common case: a letter, one test
  const hex = first === 0x30 && name.charCodeAt(i + 1) === 0x78; // 0x
  if (hex) i += 2;
  for (; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isDigit(c) && !(hex && c >= 0x61 && c <= 0x66)) return false;
  }
  return true;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

// Decoding and re-encoding costs microseconds, and an IDN name recurs in an
// event stream as often as any other: verdicts are remembered, in a bounded map.
const punycodeVerdicts = new Map<string, boolean>();
const MAX_PUNYCODE_VERDICTS = 10_000;

function punycodeValid(name: string): boolean {
  let valid = punycodeVerdicts.get(name);
  if (valid === undefined) {
    valid = punycodeRoundTrips(name);
    if (punycodeVerdicts.size >= MAX_PUNYCODE_VERDICTS) punycodeVerdicts.clear();
    punycodeVerdicts.set(name, valid);
  }
  return valid;
}

/**
 * Every xn-- label decodes (a label that fails to decode comes back from
 * domainToUnicode unchanged), and the decoded name encodes back to exactly
 * this name, so the ASCII form is the one canonical spelling of its Unicode form.
 */
function punycodeRoundTrips(name: string): boolean {
  const unicode = domainToUnicode(name);
  if (unicode === '' || unicode.startsWith('xn--') || unicode.includes('.xn--')) return false;
  return domainToASCII(unicode) === name;
}
