// Response headers for a JSON API (OWASP REST security cheat sheet): no MIME
// sniffing, no caching of answers that change with every event, no framing,
// no referrer, and a CSP that lets nothing load if a browser ever renders an
// answer. Routes that serve HTML (the trace page) set their own CSP over it.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
});
