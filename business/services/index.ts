export * from './errors';
export * from './ingest.service';
export * from './lookup.service';
export * from './idempotent-batch.service';
export * from './listing.service';
