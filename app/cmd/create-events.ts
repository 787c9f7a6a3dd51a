// create-events: the event stream generator. Sends delivered/bounced events to
// a running catchall service (`make start`, then `make createEvents`), shows
// progress, reports throughput and latency, and verifies the counts. The parts
// live in ./create-events/; this file only wires argv, output and exit status.
import { FatalError, run } from './create-events/run';
import { HELP, UsageError, parseOptions } from './create-events/options';
import { exitCode, formatReport } from './create-events/report';

export { run };
export type { Report } from './create-events/report';
export type { Options } from './create-events/options';

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  try {
    const parsed = parseOptions(argv);
    if (parsed.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const report = await run(parsed.options, { signal: interruptible() });
    process.stdout.write(parsed.options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
    return exitCode(report);
  } catch (error) {
    if (error instanceof UsageError || error instanceof FatalError) {
      process.stderr.write(`create-events: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

/** The first Ctrl-C ends the run early but still reports it; the second quits at once. */
function interruptible(): AbortSignal {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\ncreate-events: stopping; finishing the requests in flight (Ctrl-C again to quit now)\n');
  });
  return controller.signal;
}

if (require.main === module) {
  main().then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`create-events: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
