import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../foundation/config/env';
import { authEnabled, describeConfig, loadAppConfig } from './config';

const A = 'a-secret-0123456789abcdef';
const B = 'b-secret-0123456789abcdef';
const base = { STORE: 'memory' };

function keysFile(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'catchall-config-')), 'keys');
  writeFileSync(file, text);
  return file;
}

describe('loadAppConfig: authentication', () => {
  it('runs open in development without keys, and with keys when given', () => {
    expect(authEnabled(loadAppConfig(base))).toBe(false);
    expect(authEnabled(loadAppConfig({ ...base, API_KEYS: `ingest:write:${A}` }))).toBe(true);
  });

  it('refuses production without keys unless AUTH=none', () => {
    expect(() => loadAppConfig({ ...base, NODE_ENV: 'production' })).toThrow(ConfigError);
    expect(authEnabled(loadAppConfig({ ...base, NODE_ENV: 'production', AUTH: 'none' }))).toBe(false);
    expect(authEnabled(loadAppConfig({ ...base, NODE_ENV: 'production', API_KEYS: `ingest:write:${A}` }))).toBe(true);
  });

  it('refuses AUTH=none with keys, and AUTH=keys without', () => {
    expect(() => loadAppConfig({ ...base, AUTH: 'none', API_KEYS: `ingest:write:${A}` })).toThrow(/choose one/);
    expect(() => loadAppConfig({ ...base, AUTH: 'keys' })).toThrow(/AUTH=keys needs API_KEYS/);
  });

  it('joins the keys of API_KEYS_FILE to those of API_KEYS', () => {
    const config = loadAppConfig({ ...base, API_KEYS: `ingest:write:${A}`, API_KEYS_FILE: keysFile(`dash:read:${B}\n`) });
    expect(config.API_KEYS?.map((k) => k.name)).toEqual(['ingest', 'dash']);
  });

  it.each([
    [`ingest:read:${B}`, /repeat a key name/],
    [`other:read:${A}`, /repeat a key name or secret/],
    ['nonsense', /holds no valid keys/],
  ])('refuses a keys file holding %j', (text, message) => {
    expect(() => loadAppConfig({ ...base, API_KEYS: `ingest:write:${A}`, API_KEYS_FILE: keysFile(text) })).toThrow(message);
  });

  it('shows key names and scopes but never secrets when the configuration is logged', () => {
    const described = JSON.stringify(describeConfig(loadAppConfig({ ...base, API_KEYS: `ingest:write:${A},dash:read:${B}` })));
    expect(described).toContain('"API_KEYS":"ingest:write:***,dash:read:***"');
    expect(described).not.toContain(A);
    expect(described).not.toContain(B);
  });
});

describe('loadAppConfig: HTTP limits', () => {
  it('has defaults for every timeout and the connection cap', () => {
    expect(loadAppConfig(base)).toMatchObject({
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000,
      HTTP_IDLE_TIMEOUT_MS: 120_000,
      HTTP_MAX_CONNECTIONS: 10_000,
    });
  });

  it('refuses a headers timeout over the request timeout and a burst without a rate', () => {
    expect(() => loadAppConfig({ ...base, HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '2000' })).toThrow(/headers are part/);
    expect(() => loadAppConfig({ ...base, RATE_LIMIT_BURST: '10' })).toThrow(/without RATE_LIMIT_EVENTS_PER_S/);
  });
});
