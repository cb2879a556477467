import type { FastifyError } from 'fastify';

import { coerceError } from '../core/errors.ts';

/** One refused field: the column or payload path the database (or the request's schema) named. */
export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem, as every error of the API is answered. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  415: 'Unsupported Media Type',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An answer other than success that a route decides on itself. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly errors?: FieldError[],
  ) {
    super(detail);
  }
}

export function problem(status: number, detail: string, errors?: FieldError[]): Problem {
  return { type: 'about:blank', title: titles[status] ?? 'Error', status, detail, ...(errors ? { errors } : {}) };
}

/**
 * What an error thrown while answering becomes: a refusal of the request's schema or of the
 * database names its field; an unknown name 404, a name taken 409. Anything else is a 500
 * whose detail says nothing of the server (the log has it).
 */
export function problemOf(error: unknown): Problem {
  if (error instanceof HttpProblem) return problem(error.status, error.message, error.errors);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    const errors = fastifyError.validation.map((issue) => ({
      field: fieldOfIssue(fastifyError.validationContext, issue.instancePath, issue.params),
      message: issue.message ?? 'is not valid',
    }));
    return problem(400, errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
  }
  if (fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem(415, 'the body must be application/json');
  if (fastifyError.statusCode === 400) return problem(400, `malformed request: ${fastifyError.message ?? ''}`);
  const failure = coerceError(error);
  switch (failure.kind) {
    case 'invalid': {
      const field = fieldOfMessage(failure.message, failure.field);
      const message = failure.message.startsWith(`${field}: `)
        ? failure.message.slice(field.length + 2)
        : failure.message;
      return problem(400, failure.message, [{ field, message }]);
    }
    case 'not_found':
      return problem(404, failure.message);
    case 'clash':
      return problem(409, failure.message, failure.field ? [{ field: failure.field, message: failure.message }] : []);
    default:
      return problem(500, 'the server could not answer; its log says why');
  }
}

/**
 * The field a refusal of the database names: its message starts with it ("payload.command:
 * ..."), a path within the column Postgres reports (payload).
 */
function fieldOfMessage(message: string, column: string | undefined): string {
  const prefix = message.split(': ')[0]!;
  return column && (prefix === column || prefix.startsWith(`${column}.`)) ? prefix : (column ?? prefix);
}

/** The field a schema issue is about, dotted: payload.command, or the query parameter. */
function fieldOfIssue(context: string | undefined, path: string, params: Record<string, unknown>): string {
  const below = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  const field = [...path.split('/').filter(Boolean), ...(below ? [below] : [])].join('.');
  return field || (context ?? 'body');
}
