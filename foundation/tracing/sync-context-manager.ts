// A context manager that keeps the active context only for the synchronous
// extent of context.with(): no AsyncLocalStorage, so no async hooks. On Node 20
// an AsyncLocalStorage in use makes every promise of the process pay a hook
// call (measured: about a quarter of the CPU of a NestJS request), whether or
// not anything is traced. With this manager the context does not follow awaits,
// so spans that need an async parent (database and cache client spans) cannot
// be nested; spans that carry their parent explicitly work as usual.
import { Context, ContextManager, ROOT_CONTEXT } from '@opentelemetry/api';

export class SyncContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...args: unknown[]) => unknown;
    const with_ = this.with.bind(this);
    return function (this: unknown, ...args: unknown[]) {
      return with_(context, () => fn.apply(this, args));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }
}
