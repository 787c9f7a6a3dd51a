// Jest global setup: starts the real servers the integration tests need, each
// from its own module, and hands their URLs to the test workers through
// process.env (TEST_DATABASE_URL, TEST_CITUS_URL, ...). Servers start in parallel.
import { startSharedCitus } from './citus';
import { startSharedPostgres } from './postgres';

export default async function globalSetup(): Promise<void> {
  await Promise.all([startSharedPostgres(), startSharedCitus()]);
}
