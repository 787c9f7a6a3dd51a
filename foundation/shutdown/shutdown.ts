// Graceful shutdown: on SIGTERM/SIGINT run the application's close (which stops
// accepting, lets in-flight requests finish and flushes), and exit. A second
// signal or a close that outlives its deadline forces the exit.
export interface ShutdownOptions {
  close: () => Promise<void>;
  timeoutMs: number;
  log: (msg: string, extra?: Record<string, unknown>) => void;
  signals?: NodeJS.Signals[];
}

export function onShutdownSignal(opts: ShutdownOptions): void {
  let closing = false;
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      opts.log('second signal: exiting now', { signal });
      process.exit(1);
    }
    closing = true;
    opts.log('shutting down: no new requests, flushing pending events', { signal });
    const force = setTimeout(() => {
      opts.log('shutdown deadline passed: exiting', { timeoutMs: opts.timeoutMs });
      process.exit(1);
    }, opts.timeoutMs);
    force.unref();
    opts.close().then(
      () => {
        opts.log('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        opts.log('shutdown failed', { err: err instanceof Error ? err.message : String(err) });
        process.exit(1);
      },
    );
  };
  for (const s of signals) process.on(s, handler);
}
