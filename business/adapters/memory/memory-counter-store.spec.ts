// The memory adapter against the counter-store contract.
import { describeCounterStoreContract } from '../../../test/contracts/counter-store.contract';
import { MemoryCounterStore } from './memory-counter-store.adapter';

describeCounterStoreContract('memory', async () => new MemoryCounterStore());
