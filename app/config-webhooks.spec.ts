import { ConfigError } from '../foundation/config/env';
import { describeConfig, loadAppConfig } from './config';

const base = { STORE: 'memory' };
const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

describe('loadAppConfig: webhooks', () => {
  it('reads the URLs (deduplicated) and the secret, with defaults for the rest', () => {
    const config = loadAppConfig({ ...base, WEBHOOK_URLS: 'https://a.example/h, http://b.example/h,https://a.example/h', WEBHOOK_SECRET: SECRET });
    expect(config.WEBHOOK_URLS).toEqual(['https://a.example/h', 'http://b.example/h']);
    expect(config.WEBHOOK_SECRET).toBe(SECRET);
    expect(config.WEBHOOK_MAX_ATTEMPTS).toBe(8);
  });

  it('refuses URLs without a secret, and a malformed secret, with a line that never shows it', () => {
    expect(() => loadAppConfig({ ...base, WEBHOOK_URLS: 'https://a.example/h' })).toThrow(/WEBHOOK_URLS is set without WEBHOOK_SECRET/);
    for (const bad of ['whsec_', 'abc', `whsec_${Buffer.alloc(8).toString('base64')}`, 'whsec_not base64!', `${SECRET}x`]) {
      let message = '';
      try {
        loadAppConfig({ ...base, WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: bad });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/^invalid configuration: WEBHOOK_SECRET=\*\*\*, expected whsec_/);
    }
  });

  it('refuses a URL that is not http(s)', () => {
    expect(() => loadAppConfig({ ...base, WEBHOOK_URLS: 'ftp://a.example/h', WEBHOOK_SECRET: SECRET })).toThrow(/WEBHOOK_URLS=\*\*\*, expected http/);
    expect(() => loadAppConfig({ ...base, WEBHOOK_URLS: 'not a url', WEBHOOK_SECRET: SECRET })).toThrow(ConfigError);
  });

  it('refuses a lease shorter than twice the request timeout, and a first backoff above the cap', () => {
    const urls = { ...base, WEBHOOK_URLS: 'https://a.example/h', WEBHOOK_SECRET: SECRET };
    expect(() => loadAppConfig({ ...urls, WEBHOOK_TIMEOUT_MS: '10000', WEBHOOK_LEASE_MS: '15000' })).toThrow(/WEBHOOK_LEASE_MS/);
    expect(() => loadAppConfig({ ...urls, WEBHOOK_BACKOFF_MS: '5000', WEBHOOK_BACKOFF_MAX_MS: '1000' })).toThrow(/WEBHOOK_BACKOFF_MAX_MS/);
  });

  it('logs the URLs without passwords or query strings, and never the secret', () => {
    const config = loadAppConfig({ ...base, WEBHOOK_URLS: 'https://u:pw@a.example/h?token=t0k', WEBHOOK_SECRET: SECRET });
    const shown = JSON.stringify(describeConfig(config));
    expect(shown).not.toContain('pw@');
    expect(shown).not.toContain('t0k');
    expect(shown).not.toContain(SECRET.slice(6));
    expect(describeConfig(config).WEBHOOK_URLS).toEqual(['https://u:***@a.example/h?…']);
    expect(describeConfig(config).WEBHOOK_SECRET).toBe('***');
  });
});
