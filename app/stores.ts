// Builds the counter store (and, later, the cache around it) that the
// configuration asks for. The only place that knows every adapter.
import { Logger } from '@nestjs/common';
import { CounterStore } from '../business/ports';
import { MemoryCounterStore } from '../business/adapters/memory/memory-counter-store.adapter';
import { AppConfig } from './config';

export async function createCounterStore(config: AppConfig, logger: Logger): Promise<CounterStore> {
  switch (config.STORE) {
    case 'memory':
      logger.log('counter store: memory (counts live in this process only and are lost on exit)');
      return new MemoryCounterStore();
    default:
      throw new Error(`STORE=${config.STORE} is not available in this build`);
  }
}
