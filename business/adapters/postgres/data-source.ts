// The TypeORM DataSource of the postgres adapter: one pg connection pool per
// process, shared by the counter store (raw named statements) and migrations.
import type { Pool } from 'pg';
import { DataSource, MigrationInterface } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { DomainEntity } from './domain.entity';

export interface PostgresSettings {
  url: string;
  /** Connections in the pool (DATABASE_POOL_SIZE). */
  poolSize: number;
  /** Migration classes this DataSource can run (migrations/). */
  migrations?: Array<new () => MigrationInterface>;
  applicationName?: string;
  /** How long to wait for a new connection before failing (the server may be down). */
  connectTimeoutMs?: number;
  /** Reports errors of idle pooled connections (the server went away); they are not fatal. */
  onPoolError?: (err: Error) => void;
}

const MIGRATIONS_TABLE = 'typeorm_migrations';

export function createPostgresDataSource(s: PostgresSettings): DataSource {
  return new DataSource({
    type: 'postgres',
    url: s.url,
    poolSize: s.poolSize,
    applicationName: s.applicationName ?? 'catchall',
    connectTimeoutMS: s.connectTimeoutMs ?? 5_000,
    entities: [DomainEntity],
    migrations: s.migrations ?? [],
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    poolErrorHandler: s.onPoolError ?? (() => undefined),
    extra: { idleTimeoutMillis: 30_000 },
  });
}

/** The pg Pool under an initialised DataSource, for named statements on the hot path. */
export function poolOf(dataSource: DataSource): Pool {
  const pool = (dataSource.driver as PostgresDriver).master as Pool | undefined;
  if (!pool) throw new Error('the postgres DataSource is not initialised');
  return pool;
}
