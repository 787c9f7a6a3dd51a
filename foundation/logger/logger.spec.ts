import pino from 'pino';
import { Writable } from 'node:stream';
import { demoteBootChatter, prettyLogsWanted } from './logger';

function capture(level: string): { logger: pino.Logger; lines: () => { level: number; msg: string; context?: string }[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level, hooks: { logMethod: demoteBootChatter } }, stream);
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l)) };
}

describe('demoteBootChatter', () => {
  it("drops Nest's route and module lines at info level", () => {
    const { logger, lines } = capture('info');
    logger.info({ context: 'RoutesResolver' }, 'EventsController {/events}:');
    logger.info({ context: 'RouterExplorer' }, 'Mapped {/events, POST} route');
    logger.info({ context: 'InstanceLoader' }, 'AppModule dependencies initialized');
    logger.info({ context: 'Main' }, 'catchall listening');
    expect(lines().map((l) => l.msg)).toEqual(['catchall listening']);
  });

  it('writes them at debug level when debug is on', () => {
    const { logger, lines } = capture('debug');
    logger.info({ context: 'RouterExplorer' }, 'Mapped {/events, POST} route');
    expect(lines()).toEqual([expect.objectContaining({ level: 20, context: 'RouterExplorer', msg: 'Mapped {/events, POST} route' })]);
  });

  it('leaves warnings and errors of the same contexts alone', () => {
    const { logger, lines } = capture('info');
    logger.error({ context: 'NestApplication' }, 'listen failed');
    expect(lines()).toEqual([expect.objectContaining({ level: 50, msg: 'listen failed' })]);
  });
});

describe('prettyLogsWanted', () => {
  const found = (id: string): string => id;
  const missing = (): string => {
    throw new Error('not installed');
  };

  it('is pretty on a terminal in development', () => {
    expect(prettyLogsWanted({}, true, found)).toBe(true);
  });

  it('is JSON when stdout is not a terminal, in production, or without pino-pretty', () => {
    expect(prettyLogsWanted({}, false, found)).toBe(false);
    expect(prettyLogsWanted({ NODE_ENV: 'production' }, true, found)).toBe(false);
    expect(prettyLogsWanted({}, true, missing)).toBe(false);
  });
});
