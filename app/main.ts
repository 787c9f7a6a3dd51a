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
    new Logger('Main').log(`catchall listening on ${server.url} (store: ${config.STORE}, ack: ${config.ACK_MODE})`);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
    } else {
      console.error(`catchall failed to start: ${err instanceof Error ? err.message : String(err)}`);
    }
    process.exit(1);
  }
}

if (require.main === module) void main();
