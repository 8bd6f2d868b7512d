import net from 'node:net';
import { fail, ok, type ErrorCode, type Result } from '../result.js';
import type { ControlResponse } from './protocol.js';

/** What a connect failure means to the person at the CLI. */
function explain(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `no control socket at ${path}: is tollguard running? (systemctl status tollguard)`;
    case 'ECONNREFUSED':
      return `nothing answers on ${path}: tollguard is not running (stale socket)`;
    case 'EACCES':
      return `permission denied on ${path}: run as root or as a member of group tollguard`;
    default:
      return `${path}: ${err.message}`;
  }
}

/**
 * Sends one command over the control socket and returns its result. Never throws: every
 * failure (no daemon, no permission, timeout, an error answer) is a TG_ERR_* Result.
 */
export function controlRequest(path: string, cmd: string, args: Record<string, unknown>, timeoutMs: number): Promise<Result<unknown>> {
  return new Promise((resolve) => {
    const id = 1;
    const socket = net.connect(path);
    let buffered = '';
    let settled = false;
    const finish = (r: Result<unknown>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish(fail('TG_ERR_CONTROL', `no answer to "${cmd}" from ${path} within ${timeoutMs} ms`, { errno: 'ETIMEDOUT' })), timeoutMs);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ id, cmd, args })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => finish(fail('TG_ERR_CONTROL', explain(path, err), { errno: err.code ?? null })));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      let res: ControlResponse;
      try {
        res = JSON.parse(buffered.slice(0, nl)) as ControlResponse;
      } catch {
        finish(fail('TG_ERR_CONTROL', `unreadable answer from ${path}`));
        return;
      }
      if (res.ok) finish(ok(res.result));
      else {
        const code = (/^TG_ERR_[A-Z_]+$/.test(res.error.code) ? res.error.code : 'TG_ERR_CONTROL') as ErrorCode;
        finish(fail(code, res.error.message));
      }
    });
    socket.on('close', () => finish(fail('TG_ERR_CONTROL', `${path} closed the connection without answering "${cmd}"`)));
  });
}
