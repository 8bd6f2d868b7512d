/**
 * The CLI's exit statuses (sysexits.h where one fits), listed in docs/errors.md. Scripts and
 * the systemd unit (RestartPreventExitStatus=78) rely on them: never renumber.
 */
export const EXIT = {
  ok: 0,
  /** The daemon refused or failed the request (see its TG_ERR_* message). */
  failed: 1,
  /** EX_USAGE: unknown command or option, missing or extra argument. */
  usage: 64,
  /** EX_DATAERR: replay: some rows of the call records were bad (each named, skipped). */
  dataErr: 65,
  /** EX_NOINPUT: replay: the call-record file cannot be read. */
  noInput: 66,
  /** EX_NOUSER: an account neither the config nor the store knows (suspend/resume/reset). */
  unknownAccount: 67,
  /** EX_UNAVAILABLE: no daemon answers on the control socket. */
  unavailable: 69,
  /** EX_SOFTWARE: a bug in tollguard. */
  internal: 70,
  /** EX_NOPERM: the control socket is not the caller's to use. */
  noPermission: 77,
  /** EX_CONFIG: the config or the rate deck is invalid. */
  config: 78,
} as const;

/** A failure the CLI reports in one line and exits with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode: number, readonly usage?: string) {
    super(message);
  }
}
