/**
 * Errors are values where the caller decides what to do (DESIGN.md); every code is listed
 * in docs/errors.md and is stable, so logs, alerts and callers can match on it.
 */
export type ErrorCode =
  | 'TG_ERR_CONFIG'
  | 'TG_ERR_RATES'
  | 'TG_ERR_LISTS'
  | 'TG_ERR_PBX_AUTH'
  | 'TG_ERR_PBX_TIMEOUT'
  | 'TG_ERR_PBX_CLOSED'
  | 'TG_ERR_PBX_REJECTED'
  | 'TG_ERR_PBX_FRAME'
  | 'TG_ERR_PBX_OVERLOAD'
  | 'TG_ERR_FIREWALL'
  | 'TG_ERR_STORE'
  | 'TG_ERR_ALERT'
  | 'TG_ERR_CONTROL'
  | 'TG_ERR_UNKNOWN_ACCOUNT'
  | 'TG_ERR_PRECALL';

export class TollguardError extends Error {
  readonly code: ErrorCode;
  readonly detail: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'TollguardError';
    this.code = code;
    this.detail = detail;
  }
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: TollguardError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(code: ErrorCode, message: string, detail?: Record<string, unknown>): Result<T> => ({
  ok: false,
  error: new TollguardError(code, message, detail),
});
