// A TCP proxy between the service and PostgreSQL that can lose the answer to a
// commit: armed with a trigger (text the client sends, e.g. the name of the
// flush's prepared statement), it watches the connection that sends it and,
// when PostgreSQL next reports the transaction finished (ReadyForQuery with
// status 'I': committed, the client's Sync or COMMIT was processed), swallows
// that answer and either cuts both sockets ('cut') or just never forwards
// anything more on that connection ('hold'). So the commit happened, and the
// client cannot know it: the case the flush fence and idempotency keys exist for.
import net from 'node:net';

/** ReadyForQuery, length 5, transaction status idle. */
const READY_IDLE = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);

export type LoseMode = 'cut' | 'hold';

interface Arm {
  trigger: Buffer;
  mode: LoseMode;
  fired: () => void;
}

export class PgProxy {
  private readonly sockets = new Set<net.Socket>();
  private arm: Arm | undefined;
  /** Commits whose answer was lost so far. */
  lost = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<PgProxy> {
    const holder: { proxy?: PgProxy } = {};
    const server = net.createServer((client) => holder.proxy?.connect(client, targetHost, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.proxy = new PgProxy(server, (server.address() as net.AddressInfo).port);
    return holder.proxy;
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  urlFor(databaseUrl: string): string {
    const u = new URL(databaseUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Loses the answer to the next commit of a transaction that sent `trigger`; resolves once it did. */
  loseNextCommit(trigger: string, mode: LoseMode): Promise<void> {
    return new Promise((fired) => {
      this.arm = { trigger: Buffer.from(trigger), mode, fired };
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connect(client: net.Socket, host: string, port: number): void {
    const upstream = net.connect(port, host);
    this.sockets.add(client).add(upstream);
    let watching: Arm | undefined;
    let held = false;
    let tail = Buffer.alloc(0);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      if (!watching && this.arm && chunk.includes(this.arm.trigger)) {
        watching = this.arm;
        this.arm = undefined;
      }
      if (!held) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (held) return;
      if (watching) {
        const seen = Buffer.concat([tail, chunk]);
        if (seen.includes(READY_IDLE)) {
          this.lost++;
          const arm = watching;
          watching = undefined;
          held = true;
          if (arm.mode === 'cut') drop();
          arm.fired();
          return;
        }
        tail = seen.subarray(Math.max(0, seen.length - (READY_IDLE.length - 1)));
      }
      client.write(chunk);
    });
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  }
}
