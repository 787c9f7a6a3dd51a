export * from './counts';
export * from './domain-name';
export * from './domain-status';
export * from './event-type';
export * from './transition';
export * from './store-stats';
