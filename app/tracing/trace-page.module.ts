// The trace page as a Nest module, imported by AppModule only when the page is
// on and tracing runs, so that otherwise /debug/traces is an ordinary 404.
import { DynamicModule, Module } from '@nestjs/common';
import { TraceBuffer } from '../../foundation/tracing/trace-buffer';
import { TracePageInfo } from '../../foundation/tracing/trace-page';
import { TRACE_PAGE_INFO, TracesController } from '../handlers/traces.http.controller';

@Module({})
export class TracePageModule {
  static forRoot(buffer: TraceBuffer, info: TracePageInfo): DynamicModule {
    return {
      module: TracePageModule,
      controllers: [TracesController],
      providers: [
        { provide: TraceBuffer, useValue: buffer },
        { provide: TRACE_PAGE_INFO, useValue: info },
      ],
    };
  }
}
