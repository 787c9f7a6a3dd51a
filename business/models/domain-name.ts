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

// Plain lower-case ASCII needs no IDN conversion: the common case stays cheap.
const PLAIN_ASCII = /^[a-z0-9.-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Anything longer than this cannot become a valid name, whatever IDN does; it
// bounds the work a hostile input can cause.
const MAX_RAW_LENGTH = 1024;

export function parseDomainName(raw: unknown): DomainNameResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'domain must be a string' };
  if (raw.length === 0) return { ok: false, reason: 'domain is empty' };
  if (raw.length > MAX_RAW_LENGTH) {
    return { ok: false, reason: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  }
  let name = raw.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (!PLAIN_ASCII.test(name)) {
    if (/[\s/\\@:?#[\]%]/.test(name)) {
      return { ok: false, reason: 'domain contains a character that is not allowed in a host name' };
    }
    const ascii = domainToASCII(name);
    if (ascii === '') return { ok: false, reason: 'domain is not a valid internationalised name' };
    name = ascii;
  }
  return validateAscii(name);
}

function validateAscii(name: string): DomainNameResult {
  if (name.length === 0) return { ok: false, reason: 'domain is empty' };
  if (name.length > MAX_DOMAIN_LENGTH) {
    return { ok: false, reason: `domain is longer than ${MAX_DOMAIN_LENGTH} characters` };
  }
  const labels = name.split('.');
  if (labels.length < 2) return { ok: false, reason: 'domain needs at least two labels (like example.com)' };
  for (const label of labels) {
    if (label.length === 0) return { ok: false, reason: 'domain has an empty label' };
    if (label.length > MAX_LABEL_LENGTH) {
      return { ok: false, reason: `domain has a label longer than ${MAX_LABEL_LENGTH} characters` };
    }
    if (!LABEL.test(label)) {
      return {
        ok: false,
        reason: 'domain labels may hold only letters, digits and hyphens, and may not start or end with a hyphen',
      };
    }
  }
  return { ok: true, value: name as DomainName };
}
