import { ConfigError } from '../../foundation/config/env';
import { describeConfig, loadAppConfig } from '../config';
import { tracingSettings } from './settings';

describe('tracing settings', () => {
  it('development: every trace (at most 100/s), basic detail, no export, the trace page on', () => {
    expect(tracingSettings(loadAppConfig({}))).toMatchObject({
      enabled: true,
      sampler: 'parentbased_traceidratio',
      ratio: 1,
      maxPerSecond: 100,
      detail: 'basic',
      exporter: 'none',
      ui: true,
    });
  });

  it('development exports once an OTLP endpoint is given', () => {
    const s = tracingSettings(loadAppConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318' }));
    expect(s).toMatchObject({ exporter: 'otlp', otlpUrl: 'http://jaeger:4318/v1/traces', otlpProtocol: 'http/protobuf' });
  });

  it('production: 1% sampled, OTLP to the default collector, no trace page', () => {
    expect(tracingSettings(loadAppConfig({ NODE_ENV: 'production', AUTH: 'none' }))).toMatchObject({
      ratio: 0.01,
      maxPerSecond: 0,
      detail: 'basic',
      exporter: 'otlp',
      otlpUrl: 'http://localhost:4318/v1/traces',
      ui: false,
    });
    expect(tracingSettings(loadAppConfig({ NODE_ENV: 'production', AUTH: 'none', TRACES_UI: 'true' })).ui).toBe(true);
  });

  it('takes the standard variables over the defaults', () => {
    const s = tracingSettings(
      loadAppConfig({
        NODE_ENV: 'production',
        AUTH: 'none',
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_TRACES_EXPORTER: 'console',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example.com/v1/traces',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }),
    );
    expect(s).toMatchObject({ sampler: 'traceidratio', ratio: 0.25, exporter: 'console', otlpProtocol: 'http/json' });
    expect(s.otlpUrl).toBe('https://otlp.example.com/v1/traces');
  });

  it('is off with OTEL_SDK_DISABLED=true, trace page included', () => {
    expect(tracingSettings(loadAppConfig({ OTEL_SDK_DISABLED: 'true', TRACES_UI: 'true' }))).toMatchObject({ enabled: false, ui: false });
  });

  it.each([
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'expected a number from 0 to 1'],
    ['OTEL_TRACES_SAMPLER_ARG', 'half', 'expected a number from 0 to 1'],
    ['OTEL_TRACES_SAMPLER', 'sometimes', 'expected one of always_on, always_off, traceidratio'],
    ['OTEL_TRACES_EXPORTER', 'jaeger', 'expected one of otlp, console, none'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', 'expected one of http/protobuf, http/json'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'localhost:4318', 'expected a URL starting with http:// or https://'],
    ['OTEL_BSP_MAX_QUEUE_SIZE', '0', 'expected an integer from 1 to 1000000'],
    ['TRACES_UI', 'maybe', 'expected true or false'],
    ['TRACES_DETAIL', 'everything', 'expected one of basic, full'],
  ])('refuses %s=%s with one line', (name, value, expected) => {
    expect(() => loadAppConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadAppConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration: ${name}=.*, ${expected}`));
  });

  it('masks exporter headers when the configuration is logged', () => {
    const config = loadAppConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20secret' });
    expect(describeConfig(config).OTEL_EXPORTER_OTLP_HEADERS).toBe('***');
  });
});
