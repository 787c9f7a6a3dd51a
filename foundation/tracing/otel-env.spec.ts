import { loadEnv, ConfigError } from '../config/env';
import { keyValueText, otlpTracesUrl, parseKeyValueList } from './otel-env';

describe('OTEL_* parsing', () => {
  it('parses key=value lists, percent-decoding values', () => {
    expect(parseKeyValueList('a=1, b.c=x%20y,,')).toEqual({ a: '1', 'b.c': 'x y' });
    expect(parseKeyValueList('')).toEqual({});
    expect(parseKeyValueList('novalue')).toBeUndefined();
    expect(parseKeyValueList('=x')).toBeUndefined();
    expect(parseKeyValueList('a=%E0%A4%A')).toBeUndefined();
  });

  it('refuses a malformed list with one line, masking a secret one', () => {
    const schema = { OTEL_EXPORTER_OTLP_HEADERS: keyValueText({ secret: true }) };
    expect(() => loadEnv(schema, { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization Bearer abc' })).toThrow(ConfigError);
    expect(() => loadEnv(schema, { OTEL_EXPORTER_OTLP_HEADERS: 'Authorization Bearer abc' })).toThrow(
      'invalid configuration: OTEL_EXPORTER_OTLP_HEADERS=***, expected a comma-separated list of key=value pairs',
    );
  });

  it('derives the traces URL as the OTLP exporter spec says', () => {
    expect(otlpTracesUrl('http/protobuf', undefined, undefined)).toBe('http://localhost:4318/v1/traces');
    expect(otlpTracesUrl('http/protobuf', undefined, 'http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http/protobuf', undefined, 'http://gw/otlp/')).toBe('http://gw/otlp/v1/traces');
    expect(otlpTracesUrl('http/protobuf', 'http://jaeger:4318/custom', 'http://ignored')).toBe('http://jaeger:4318/custom');
    expect(otlpTracesUrl('grpc', undefined, undefined)).toBe('http://localhost:4317');
    expect(otlpTracesUrl('grpc', undefined, 'http://collector:4317')).toBe('http://collector:4317');
  });
});
