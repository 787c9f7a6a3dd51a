// GET /docs in a real browser (Debian's chromium through playwright-core): the
// Swagger UI page loads every asset from the service itself (no CDN, each
// answered 200), renders every operation of /openapi.json, and breaks no rule
// of its Content-Security-Policy. It is open while API keys are required.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../app/main';
import { RunningServer } from '../app/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)`);
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ STORE: 'memory', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', API_KEYS: 'ops:read:r-secret-docs-0123456789' });
});
afterAll(() => server.close());

it('renders every operation from same-origin assets without a CSP violation', async () => {
  const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
  const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);

  const profile = mkdtempSync(path.join(tmpdir(), 'catchall-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    const requests: Array<{ url: string; status: number | undefined }> = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('requestfinished', (r) => void r.response().then((res) => requests.push({ url: r.url(), status: res?.status() })));
    page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`));
    await page.addInitScript({
      content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));",
    });

    const response = await page.goto(`${server.url}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });
    await expect(page.locator('.opblock').count()).resolves.toBe(operations);
    await expect(page.locator('.opblock-summary-path', { hasText: '/domains/export' }).count()).resolves.toBe(1);

    // Try a route from the page: open GET /health/live, "Try it out", "Execute".
    const live = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/health\/live$/ }) });
    await live.locator('.opblock-summary').click();
    await live.locator('button.try-out__btn').click();
    await live.locator('button.execute').click();
    await expect(live.locator('.live-responses-table tbody .response-col_status').first().textContent({ timeout: 10_000 })).resolves.toContain('200');

    await page.waitForLoadState('networkidle');
    expect(problems).toEqual([]);
    const origin = new URL(server.url).origin;
    expect(requests.length).toBeGreaterThanOrEqual(4); // page, css, bundle, init, document (+ favicon)
    for (const r of requests) expect([r.url, new URL(r.url).origin, r.status]).toEqual([r.url, origin, 200]);
  } finally {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  }
}, 60_000);
