/**
 * Who is at the other end of a control connection: the kernel's SO_PEERCRED (pid, uid, gid
 * of the process that connected), which no client can forge. Node has no API for it, so
 * libc's getsockopt and getpwuid are called through koffi (docs/decisions.md).
 */
import { createRequire } from 'node:module';
import type net from 'node:net';
import os from 'node:os';

export interface Operator {
  uid: number;
  /** The user name of uid (NSS: /etc/passwd, LDAP, ...), or null when none is known. */
  user: string | null;
  pid: number;
}

interface Libc {
  getsockopt(fd: number, level: number, name: number, out: Buffer, len: number[]): number;
  getpwuid(uid: number): unknown;
  decodeName(passwd: unknown): string | null;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
/** struct ucred { pid_t pid; uid_t uid; gid_t gid; } */
const UCRED_BYTES = 12;

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libc.so.6');
    const passwd = koffi.struct('tg_passwd', { pw_name: 'char *', pw_passwd: 'char *', pw_uid: 'uint32_t', pw_gid: 'uint32_t' });
    const getpwuid = lib.func('getpwuid', koffi.pointer(passwd), ['uint32_t']);
    libc = {
      getsockopt: lib.func('int getsockopt(int fd, int level, int name, _Out_ uint8_t *val, _Inout_ uint32_t *len)') as Libc['getsockopt'],
      getpwuid: (uid) => getpwuid(uid) as unknown,
      decodeName: (p) => (p === null ? null : (koffi.decode(p, passwd) as { pw_name: string | null }).pw_name),
    };
  } catch {
    libc = null;
  }
  return libc;
}

/** The fd under a connected unix socket: libuv's, not in Node's public API. */
function fdOf(socket: net.Socket): number | null {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * The peer of an accepted unix-socket connection, or an error text saying why it is not
 * known (koffi not loadable on this platform, not a unix socket): the caller records that.
 */
export function peerOf(socket: net.Socket): { ok: true; operator: Operator } | { ok: false; why: string } {
  const c = loadLibc();
  if (!c) return { ok: false, why: 'koffi (libc calls) could not be loaded' };
  const fd = fdOf(socket);
  if (fd === null) return { ok: false, why: 'the connection has no file descriptor' };
  const buf = Buffer.alloc(UCRED_BYTES);
  if (c.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, [UCRED_BYTES]) !== 0) return { ok: false, why: 'getsockopt(SO_PEERCRED) failed' };
  const le = os.endianness() === 'LE';
  const uid = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const pid = le ? buf.readInt32LE(0) : buf.readInt32BE(0);
  return { ok: true, operator: { pid, uid, user: c.decodeName(c.getpwuid(uid)) } };
}

/** `alice (uid 1000)`, `uid 4242` */
export function describeOperator(op: Operator | null): string {
  if (!op) return 'an unknown operator';
  return op.user ? `${op.user} (uid ${op.uid})` : `uid ${op.uid}`;
}
