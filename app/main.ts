// Entry point: validate configuration (one clear line and exit 1 when wrong),
// build the telemetry once, then the server with it, and shut down gracefully
// on SIGTERM/SIGINT.
// The server module is loaded only once tracing runs: OpenTelemetry patches pg
// and ioredis when they are first required, so nothing imported above may load them.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '../foundation/config/env';
import { onShutdownSignal } from '../foundation/shutdown/shutdown';
import { AppConfig, loadAppConfig } from './config';
import type { RunningServer } from './server';
import { startTelemetry, Telemetry } from './tracing/setup';

/** How long an exit waits for queued spans to be exported (a dead collector must not hold it up). */
const TRACING_SHUTDOWN_MS = 2_000;

/**
 * Starts a server from environment-style settings (used by main and by the
 * tests), with the telemetry given or else its own.
 */
export async function startServer(env: Record<string, string | undefined>, telemetry?: Telemetry): Promise<RunningServer> {
  const config = loadAppConfig(env);
  return start(config, telemetry ?? startTelemetry(config));
}

async function start(config: AppConfig, telemetry: Telemetry): Promise<RunningServer> {
  const { createApp, listen } = await import('./server');
  return listen(await createApp(config, telemetry), config);
}

async function main(): Promise<void> {
  let server: RunningServer;
  try {
    const config = loadAppConfig(process.env);
    const telemetry = startTelemetry(config);
    server = await start(config, telemetry);
    onShutdownSignal({
      close: async () => {
        await server.close();
        await telemetry.tracing?.shutdown(TRACING_SHUTDOWN_MS);
      },
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000,
      log: (msg, extra) => new Logger('Shutdown').log(extra ? { ...extra, msg } : msg),
    });
    new Logger('Main').log(`catchall listening on ${server.url} (store: ${config.STORE}, ack: ${config.ACK_MODE})`);
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
