// Entry point: validate configuration (one clear line and exit 1 when wrong),
// start tracing, then the server, and shut down gracefully on SIGTERM/SIGINT.
// The server module is loaded only once tracing runs: OpenTelemetry patches pg
// and ioredis when they are first required, so nothing imported above may load them.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '../foundation/config/env';
import { onShutdownSignal } from '../foundation/shutdown/shutdown';
import { AppConfig, loadAppConfig } from './config';
import type { RunningServer } from './server';
import { setupTracing, stopTracing } from './tracing/setup';

/** How long an exit waits for queued spans to be exported (a dead collector must not hold it up). */
const TRACING_SHUTDOWN_MS = 2_000;

/** Starts a server from environment-style settings (used by main and by the tests). */
export async function startServer(env: Record<string, string | undefined>): Promise<RunningServer> {
  return start(loadAppConfig(env));
}

async function start(config: AppConfig): Promise<RunningServer> {
  setupTracing(config);
  const { createApp, listen } = await import('./server');
  return listen(await createApp(config), config);
}

async function main(): Promise<void> {
  let server: RunningServer;
  try {
    const config = loadAppConfig(process.env);
    server = await start(config);
    onShutdownSignal({
      close: async () => {
        await server.close();
        await stopTracing(TRACING_SHUTDOWN_MS);
      },
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000,
      log: (msg, extra) => new Logger('Shutdown').log(extra ? { ...extra, msg } : msg),
    });
    console.log(`catchall listening on ${server.url} (store: ${config.STORE}, ack: ${config.ACK_MODE})`);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `catchall failed to start: ${oneLine(err)}`);
    process.exit(1);
  }
}

/** An error as one line: its message, or (for an AggregateError of several connect attempts) its parts'. */
export function oneLine(err: unknown): string {
  if (!(err instanceof Error)) return String(err).split('\n')[0];
  let text = err.message;
  if (!text && err instanceof AggregateError) text = err.errors.map((e) => oneLine(e)).join('; ');
  if (!text) text = (err as NodeJS.ErrnoException).code ?? err.name;
  return text.replace(/\s*\n\s*/g, ' ');
}

if (require.main === module) void main();
