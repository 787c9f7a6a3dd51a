// The layering rules (.dependency-cruiser.js) must catch what they claim to:
// dependency-cruiser runs with the project's own config over a fixture tree
// (test/fixtures/layering) in which each *.bad.ts file plants one violation.
// Every planted violation must be reported, by its rule and no other; the rest
// of the tree (only allowed imports) must pass; and every rule of the config
// must have a planted violation, so that a rule that is removed, renamed or
// loosened fails here instead of rotting silently.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const root = path.resolve(__dirname, '..');
const fixture = path.join(__dirname, 'fixtures', 'layering');
const configFile = path.join(root, '.dependency-cruiser.js');
const depcruiseBin = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const config = require(configFile) as { forbidden: Array<{ name: string }> };

/** Planted file → the rule that must report it. */
const PLANTED: Record<string, string> = {
  'business/models/imports-a-port.bad.ts': 'models-import-only-models',
  'business/ports/imports-a-service.bad.ts': 'ports-import-only-models',
  'business/services/imports-an-adapter.bad.ts': 'services-import-only-ports-and-models',
  'business/services/imports-nest.bad.ts': 'services-import-only-ports-and-models',
  'business/adapters/memory/imports-another-adapter.bad.ts': 'adapter-imports-ports-models-foundation-itself',
  'business/adapters/memory/uses-ioredis.bad.ts': 'redis-cache-libraries-only-in-its-adapter',
  'business/adapters/redis-cache/uses-typeorm.bad.ts': 'postgres-libraries-only-in-its-adapter',
  'business/adapters/memory/uses-standardwebhooks.bad.ts': 'webhook-http-libraries-only-in-its-adapter',
  'foundation/imports-business.bad.ts': 'foundation-imports-nothing-of-the-project',
  'app/handlers/imports-an-adapter.bad.ts': 'only-composition-imports-adapters',
  'migrations/imports-app.bad.ts': 'nothing-imports-app',
  'business/shared/helpers.bad.ts': 'unknown-place',
  'app/handlers/uses-a-dev-dependency.bad.ts': 'production-code-uses-no-dev-dependency',
  'app/handlers/uses-an-undeclared-library.bad.ts': 'no-undeclared-library',
  'app/handlers/imports-a-missing-file.bad.ts': 'not-to-unresolvable',
  'business/services/cycle-a.bad.ts': 'no-circular',
  'foundation/orphan.bad.ts': 'no-orphans',
};

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

async function cruise(...extraArgs: string[]): Promise<Violation[]> {
  const args = [depcruiseBin, 'app', 'business', 'foundation', 'migrations', '--config', configFile, '--output-type', 'json', ...extraArgs];
  // depcruise exits non-zero when it finds errors; the JSON report is on stdout either way.
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: fixture, maxBuffer: 16 << 20 }).catch(
    (err: { stdout?: string; stderr?: string }) => {
      if (!err.stdout) throw new Error(`depcruise failed: ${err.stderr ?? String(err)}`);
      return { stdout: err.stdout };
    },
  );
  return (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

describe('the layering rules (.dependency-cruiser.js)', () => {
  it('pass the fixture tree without its planted violations', async () => {
    expect(await cruise('--exclude', '[.]bad[.]ts$')).toEqual([]);
  }, 60_000);

  it('report each planted violation by its own rule, and nothing else', async () => {
    const found = (await cruise()).map((v) => `${v.from} ${v.rule.name} ${v.rule.severity}`).sort();
    const expected = Object.entries(PLANTED)
      .map(([file, rule]) => `${file} ${rule} error`)
      .sort();
    expect(found).toEqual(expected);
  }, 60_000);

  it('have a planted violation for every rule of the config', () => {
    const planted = new Set(Object.values(PLANTED));
    expect(config.forbidden.map((r) => r.name).filter((name) => !planted.has(name))).toEqual([]);
  });
});
