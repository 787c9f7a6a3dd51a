export * from './counter-store.port';
export * from './ingest-observer.port';
export * from './status-cache.port';
export * from './change-feed.port';
export * from './idempotent-batch-store.port';
export * from './store-stats.port';
export * from './webhook-state.port';
export * from './webhook-sender.port';
