// Every schema migration, oldest first. TypeORM orders them by the timestamp in
// the class name; listing them here (rather than a glob) works the same from
// ts sources (tsx, jest) and from compiled dist/.
import { CreateDomains1795470000000 } from './1795470000000-create-domains';
import { CreateFlushFences1795470000001 } from './1795470000001-create-flush-fences';
import { DistributeOnCitus1795470000002 } from './1795470000002-distribute-on-citus';
import { CreateIdempotencyKeys1795470000005 } from './1795470000005-create-idempotency-keys';
import { CreateStatusChanges1795470000006 } from './1795470000006-create-status-changes';
import { AddStatsToFlushFences1795470000007 } from './1795470000007-add-stats-to-flush-fences';
import { CreateWebhookState1795470000008 } from './1795470000008-create-webhook-state';
import { AddDomainStatus1795470000009 } from './1795470000009-add-domain-status';

export const MIGRATIONS = [
  CreateDomains1795470000000,
  CreateFlushFences1795470000001,
  DistributeOnCitus1795470000002,
  CreateIdempotencyKeys1795470000005,
  CreateStatusChanges1795470000006,
  AddStatsToFlushFences1795470000007,
  CreateWebhookState1795470000008,
  AddDomainStatus1795470000009,
];
