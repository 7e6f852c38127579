// The §3 error envelope and the code → status table (packages/core/apierr).

const statuses: Record<string, number> = {
  BAD_REQUEST: 400,
  SCHEMA_VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  SCHEMA_DRIFT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  TIMEOUT: 504,
};

export interface ErrorBody {
  error: { code: string; message: string; requestId?: string; details?: Record<string, unknown> };
}

/** ApiError is a client-presentable error: its message never holds a secret, URL, SQL or bound value. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  get status(): number {
    return statuses[this.code] ?? 500;
  }

  body(requestId: string): ErrorBody {
    const e: ErrorBody["error"] = { code: this.code, message: this.message, requestId };
    if (this.details && Object.keys(this.details).length > 0) e.details = this.details;
    return { error: e };
  }
}

/** asApiError keeps §3 errors; anything else is an internal error whose text stays in the log. */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  console.error("internal error:", err instanceof Error ? err.stack ?? err.message : String(err));
  return new ApiError("INTERNAL_ERROR", "internal error");
}

export const unavailable = (message: string) => new ApiError("SERVICE_UNAVAILABLE", message);
