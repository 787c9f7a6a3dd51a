import { bool, ConfigError, describeEnv, int, loadEnv, oneOf, optional, url } from './env';

const schema = {
  PORT: int({ min: 0, max: 65535, default: 3000 }),
  MODE: oneOf(['a', 'b'] as const, 'a'),
  ON: bool(true),
  DB: optional(url(['postgres:'], { secret: true })),
};

describe('loadEnv', () => {
  it('applies defaults for unset and empty variables', () => {
    expect(loadEnv(schema, { PORT: '' })).toEqual({ PORT: 3000, MODE: 'a', ON: true, DB: undefined });
  });

  it('parses valid values', () => {
    expect(loadEnv(schema, { PORT: '8080', MODE: 'B', ON: 'false', DB: 'postgres://u:p@h/db' })).toEqual({
      PORT: 8080,
      MODE: 'b',
      ON: false,
      DB: 'postgres://u:p@h/db',
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'invalid configuration: PORT="abc", expected an integer from 0 to 65535'],
    [{ PORT: '70000' }, 'invalid configuration: PORT="70000", expected an integer from 0 to 65535'],
    [{ PORT: '1.5' }, 'invalid configuration: PORT="1.5", expected an integer from 0 to 65535'],
    [{ MODE: 'c' }, 'invalid configuration: MODE="c", expected one of a, b'],
    [{ ON: 'maybe' }, 'invalid configuration: ON="maybe", expected true or false'],
    [{ DB: 'mysql://x' }, 'invalid configuration: DB=***, expected a URL starting with postgres://'],
  ])('stops at %j with one line naming the variable', (env, message) => {
    expect(() => loadEnv(schema, env)).toThrow(new ConfigError(message));
    try {
      loadEnv(schema, env);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('masks passwords when the configuration is described', () => {
    const values = loadEnv(schema, { DB: 'postgres://user:secret@host/db' });
    expect(JSON.stringify(describeEnv(schema, values))).not.toContain('secret');
  });
});
