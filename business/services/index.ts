export * from './errors';
export * from './ingest.service';
export * from './lookup.service';
export * from './idempotent-batch.service';
export * from './webhook-deliverer';
export * from './listing.service';
