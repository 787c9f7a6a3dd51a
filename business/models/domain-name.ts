// Domain names as the service stores them: lower case, no trailing dot, IDN in
// punycode (ASCII) form, and valid RFC 1123 host names of at least two labels.
import { domainToASCII } from 'node:url';

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
    if (/[\s/\\@:?#[\]%]/.test(name)) {
      return { ok: false, reason: 'domain contains a character that is not allowed in a host name' };
    }
    const ascii = domainToASCII(name);
    if (ascii === '') return { ok: false, reason: 'domain is not a valid internationalised name' };
    name = ascii;
  }
  return validateAscii(name);
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
    start = i + 1;
  }
  return { ok: true, value: name as DomainName };
}
