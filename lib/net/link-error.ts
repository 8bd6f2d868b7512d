import { TollguardError } from '../result.js';

/**
 * Why a PBX link went down, in the operator's words. A status line has room for one of
 * these, and each points at a different fix: a secret (auth), a service or a port
 * (refused), a firewall or a stuck PBX (timeout), the PBX itself (dropped).
 */
export type LinkErrorKind = 'auth' | 'refused' | 'timeout' | 'dropped' | 'unreachable' | 'dns' | 'protocol';

export const LINK_ERROR_TEXT: Readonly<Record<LinkErrorKind, string>> = {
  auth: 'authentication failed',
  refused: 'connection refused',
  timeout: 'timed out',
  dropped: 'dropped by the PBX',
  unreachable: 'host unreachable',
  dns: 'host name not found',
  protocol: 'protocol error',
};

export interface LinkError {
  kind: LinkErrorKind;
  /** The detail: the socket error, the PBX's own refusal text, the timeout. */
  message: string;
  /** When it happened (ms epoch). */
  at: number;
}

const SOCKET_CODES: Readonly<Record<string, LinkErrorKind>> = {
  ECONNREFUSED: 'refused',
  ETIMEDOUT: 'timeout',
  ECONNRESET: 'dropped',
  EPIPE: 'dropped',
  ECONNABORTED: 'dropped',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
};

/** What ended a socket: a socket error, a coded failure of a layer above, or a plain reason. */
export function classifyLinkError(cause: NodeJS.ErrnoException | TollguardError | string, at: number): LinkError {
  if (typeof cause === 'string') return { kind: 'dropped', message: cause, at };
  if (cause instanceof TollguardError) {
    const kind: LinkErrorKind =
      cause.code === 'TG_ERR_PBX_AUTH' ? 'auth'
        : cause.code === 'TG_ERR_PBX_TIMEOUT' ? 'timeout'
          : cause.code === 'TG_ERR_PBX_CLOSED' ? 'dropped'
            : 'protocol';
    return { kind, message: cause.message, at };
  }
  return { kind: (cause.code && SOCKET_CODES[cause.code]) || 'dropped', message: cause.message, at };
}

/** `connection refused (connect ECONNREFUSED 127.0.0.1:5038)` */
export function describeLinkError(e: LinkError): string {
  return `${LINK_ERROR_TEXT[e.kind]} (${e.message})`;
}
