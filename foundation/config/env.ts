// Typed, validated configuration from environment variables. A schema names each
// variable, how to parse it and what it accepts; a wrong value stops start-up
// with one line that names the variable and what it accepts.

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface EnvVar<T> {
  /** Human description of accepted values, used in error messages. */
  accepts: string;
  default?: T;
  /** Returns the parsed value, or undefined when the raw text is not accepted. */
  parse(raw: string): T | undefined;
  /** Secret values are masked when the configuration is logged. */
  secret?: boolean;
  /** How the value may be shown in a log (a secret without it is shown as ***). */
  describe?(value: T): unknown;
}

export type EnvSchema = Record<string, EnvVar<unknown>>;
export type EnvValues<S extends EnvSchema> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

export function int(opts: { min: number; max: number; default?: number }): EnvVar<number> {
  return {
    accepts: `an integer from ${opts.min} to ${opts.max}`,
    default: opts.default,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) return undefined;
      const n = Number(raw.trim());
      return Number.isSafeInteger(n) && n >= opts.min && n <= opts.max ? n : undefined;
    },
  };
}

export function decimal(opts: { min: number; max: number; default?: number }): EnvVar<number> {
  return {
    accepts: `a number from ${opts.min} to ${opts.max}`,
    default: opts.default,
    parse(raw) {
      if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) return undefined;
      const n = Number(raw.trim());
      return Number.isFinite(n) && n >= opts.min && n <= opts.max ? n : undefined;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[], def?: T): EnvVar<T> {
  return {
    accepts: `one of ${values.join(', ')}`,
    default: def,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      return (values as readonly string[]).includes(v) ? (v as T) : undefined;
    },
  };
}

export function bool(def?: boolean): EnvVar<boolean> {
  return {
    accepts: 'true or false',
    default: def,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      return undefined;
    },
  };
}

export function url(protocols: readonly string[], opts: { default?: string; secret?: boolean } = {}): EnvVar<string> {
  return {
    accepts: `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    default: opts.default,
    secret: opts.secret,
    parse(raw) {
      try {
        const u = new URL(raw.trim());
        return protocols.includes(u.protocol) ? raw.trim() : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export function text(opts: { default?: string; pattern?: RegExp; accepts?: string } = {}): EnvVar<string> {
  return {
    accepts: opts.accepts ?? 'a non-empty string',
    default: opts.default,
    parse(raw) {
      const v = raw.trim();
      if (v === '') return undefined;
      return !opts.pattern || opts.pattern.test(v) ? v : undefined;
    },
  };
}

/** An optional variable: absent or empty means undefined. */
export function optional<T>(v: EnvVar<T>): EnvVar<T | undefined> {
  return { ...v, default: undefined } as EnvVar<T | undefined>;
}

/**
 * Parses `env` against `schema`. Empty strings count as unset. Throws a
 * ConfigError whose message is one line: `NAME=value is invalid: expected …`.
 */
export function loadEnv<S extends EnvSchema>(schema: S, env: Record<string, string | undefined>): EnvValues<S> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      out[name] = spec.default;
      continue;
    }
    const value = spec.parse(raw);
    if (value === undefined) {
      const shown = spec.secret ? '***' : JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
      throw new ConfigError(`invalid configuration: ${name}=${shown}, expected ${spec.accepts}`);
    }
    out[name] = value;
  }
  return out as EnvValues<S>;
}

/** The configuration as it may be logged: secrets and URL passwords masked. */
export function describeEnv<S extends EnvSchema>(schema: S, values: EnvValues<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const v = (values as Record<string, unknown>)[name];
    if (v === undefined) continue;
    if (spec.describe) out[name] = spec.describe(v);
    else if (spec.secret) out[name] = typeof v === 'string' ? maskUrl(v) : '***';
    else out[name] = v;
  }
  return out;
}

/** A URL fit for logs: the password replaced by ***; anything unparsable fully masked. */
export function maskUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}
