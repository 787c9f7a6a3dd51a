// Entry point: validate configuration (one clear line and exit 1 when wrong),
// start the server, and shut down gracefully on SIGTERM/SIGINT.
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError } from '../foundation/config/env';
import { onShutdownSignal } from '../foundation/shutdown/shutdown';
import { loadAppConfig } from './config';
import { createApp, listen, RunningServer } from './server';

/** Starts a server from environment-style settings (used by main and by the tests). */
export async function startServer(env: Record<string, string | undefined>): Promise<RunningServer> {
  const config = loadAppConfig(env);
  const app = await createApp(config);
  return listen(app, config);
}

async function main(): Promise<void> {
  let server: RunningServer;
  try {
    const config = loadAppConfig(process.env);
    server = await listen(await createApp(config), config);
    onShutdownSignal({
      close: () => server.close(),
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000,
      log: (msg, extra) => new Logger('Shutdown').log(extra ? { ...extra, msg } : msg),
    });
    console.log(`catchall listening on ${server.url} (store: ${config.STORE}, ack: ${config.ACK_MODE})`);
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
