// Jest global teardown: stops what global-setup started.
import { stopSharedCitus } from './citus';
import { stopSharedPostgres } from './postgres';

export default async function globalTeardown(): Promise<void> {
  await Promise.all([stopSharedPostgres(), stopSharedCitus()]);
}
