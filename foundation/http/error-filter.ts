// The global Nest exception filter: every error leaves as JSON in the shape of
// http-error.ts. 5xx errors are logged with their stack (and the request's trace
// ids when it is traced); clients never see one.
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { spanOfRequest } from '../tracing/fastify-tracing';
import { logFieldsOf, sampledSpanContext } from '../tracing/trace-context';
import { ErrorMapper, errorAnswer, fromFrameworkError, HttpErrorAnswer } from './http-error';

@Catch()
export class JsonErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly mapApplicationError: ErrorMapper = () => undefined) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    const answer = this.toAnswer(exception);
    if (answer.status >= 500 && answer.status !== 503) {
      const span = spanOfRequest(request);
      if (exception instanceof Error && span?.isRecording()) span.recordException(exception);
      this.logger.error(
        { err: exception, reqId: request?.id, url: request?.url, ...logFieldsOf(sampledSpanContext(span)) },
        exception instanceof Error ? exception.message : 'unexpected error',
      );
    }
    if (reply.sent) return;
    if (answer.headers) reply.headers(answer.headers);
    void reply.status(answer.status).send(answer.body);
  }

  toAnswer(exception: unknown): HttpErrorAnswer {
    const mapped = this.mapApplicationError(exception);
    if (mapped) return mapped;
    if (exception instanceof HttpException) return fromHttpException(exception);
    return fromFrameworkError(exception) ?? errorAnswer(500, 'internal server error');
  }
}

function fromHttpException(e: HttpException): HttpErrorAnswer {
  const status = e.getStatus();
  const res = e.getResponse();
  if (typeof res === 'string') return errorAnswer(status, res);
  const body = res as Record<string, unknown>;
  const message = Array.isArray(body.message) ? body.message.join('; ') : String(body.message ?? e.message);
  const { statusCode: _s, error: _e, message: _m, ...extra } = body;
  return errorAnswer(status, message, extra);
}
