// Jest global setup: starts the real servers the integration tests need, each
// from its own module, and hands their URLs to the test workers through
// process.env (TEST_DATABASE_URL, TEST_CITUS_URL, ...). Servers start in parallel;
// the Citus cluster (three servers) only when a selected test file uses it.
import type { Config } from '@jest/types';
import { runNeedsCitus, startSharedCitus } from './citus';
import { startSharedPostgres } from './postgres';

export default async function globalSetup(globalConfig: Config.GlobalConfig): Promise<void> {
  const citus = runNeedsCitus(globalConfig.testPathPatterns.patterns) ? startSharedCitus() : undefined;
  await Promise.all([startSharedPostgres(), citus]);
}
