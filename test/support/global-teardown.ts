// Jest global teardown: stops what global-setup started.
import { stopSharedPostgres } from './postgres';

export default async function globalTeardown(): Promise<void> {
  await Promise.all([stopSharedPostgres()]);
}
