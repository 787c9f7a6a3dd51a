// The DataSource of the TypeORM CLI and of `migrate` (app/cmd/migrate.ts):
// the schema and migrations, connected to DATABASE_URL.
import { createPostgresDataSource } from '../business/adapters/postgres/data-source';
import { MIGRATIONS } from './index';

export function migrationDataSource(url: string | undefined = process.env.DATABASE_URL) {
  if (!url) throw new Error('DATABASE_URL is not set');
  return createPostgresDataSource({ url, poolSize: 2, migrations: MIGRATIONS, applicationName: 'catchall-migrate' });
}

// TypeORM tooling expects a module whose default export is a DataSource.
export default process.env.DATABASE_URL ? migrationDataSource() : undefined;
