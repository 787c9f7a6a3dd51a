// The `domains` table as TypeORM sees it: one row per domain with its two
// counters. The hot path does not go through the ORM (see the adapter); the
// entity documents the schema and lets TypeORM check migrations against it.
import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'domains' })
export class DomainEntity {
  /** Normalised (lower-case, ASCII) domain name; byte order ("C" collation). */
  @PrimaryColumn({ type: 'text', collation: 'C' })
  name!: string;

  /** bigint: pg returns it as a string; converted to number at the adapter boundary. */
  @Column({ type: 'bigint', default: 0 })
  delivered!: string;

  @Column({ type: 'bigint', default: 0 })
  bounced!: string;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}
