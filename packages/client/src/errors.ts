// SantokitError: every failure of a call, whether the Bridge answered with a
// SPEC §3 envelope or the call never got an answer, so callers handle one
// type and switch on `code`.

/**
 * Codes the client itself produces, beside the Bridge's SPEC §3 codes:
 * NETWORK_ERROR (fetch failed: no answer), TIMEOUT with status 0 (the
 * client's `timeout` elapsed; the Bridge's own TIMEOUT has status 504),
 * ABORTED (the caller's signal fired) and BAD_RESPONSE (an answer that is
 * not a Santokit body, e.g. a proxy's HTML error page).
 */
export type ClientErrorCode = "NETWORK_ERROR" | "TIMEOUT" | "ABORTED" | "BAD_RESPONSE";

/** The codes of SPEC §3. */
export type BridgeErrorCode =
  | "BAD_REQUEST"
  | "SCHEMA_VALIDATION_FAILED"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "METHOD_NOT_ALLOWED"
  | "CONFLICT"
  | "SCHEMA_DRIFT"
  | "PAYLOAD_TOO_LARGE"
  | "TOO_MANY_REQUESTS"
  | "INTERNAL_ERROR"
  | "SERVICE_UNAVAILABLE"
  | "TIMEOUT";

export type ErrorCode = BridgeErrorCode | ClientErrorCode;

/** A failed call: the Bridge's error envelope, or a client-side failure (status 0). */
export class SantokitError extends Error {
  /** SPEC §3 code, or a client code (NETWORK_ERROR, TIMEOUT, ABORTED, BAD_RESPONSE). */
  readonly code: ErrorCode | (string & {});
  /** HTTP status; 0 when no answer was received. */
  readonly status: number;
  /** The request id (the envelope's, else the X-Request-Id header); quote it in bug reports. */
  readonly requestId: string | undefined;
  /** The envelope's structured details (e.g. details.problems[]), when given. */
  readonly details: Record<string, unknown> | undefined;

  constructor(init: {
    code: ErrorCode | (string & {});
    status: number;
    message: string;
    requestId?: string | undefined;
    details?: Record<string, unknown> | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "SantokitError";
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.details = init.details;
  }
}

/** The SPEC §3 code for an HTTP status, for answers without an envelope. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "BAD_REQUEST";
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 405:
      return "METHOD_NOT_ALLOWED";
    case 409:
      return "CONFLICT";
    case 413:
      return "PAYLOAD_TOO_LARGE";
    case 429:
      return "TOO_MANY_REQUESTS";
    case 503:
      return "SERVICE_UNAVAILABLE";
    case 504:
      return "TIMEOUT";
    default:
      return status >= 500 ? "INTERNAL_ERROR" : "BAD_RESPONSE";
  }
}
