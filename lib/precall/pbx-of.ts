/** A PBX a pre-call server may be asked by: its name and the host tollguard's link reaches it at. */
export interface AskingPbx {
  name: string;
  host: string;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function plain(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Which configured PBX a pre-call connection comes from: the one the request names (the path
 * of the hook's URL), else the only one of the server's type, else the one whose host is the
 * connection's address. Null when that leaves none or several: the request is refused and
 * the log says to name the PBX in the hook.
 */
export function pbxOf<P extends AskingPbx>(pbxs: readonly P[], named: string | null, peer: string): P | null {
  if (named) return pbxs.find((p) => p.name === named) ?? null;
  if (pbxs.length === 1) return pbxs[0]!;
  const from = plain(peer);
  const match = pbxs.filter((p) => p.host === from || (LOOPBACK.has(p.host) && LOOPBACK.has(from)));
  return match.length === 1 ? match[0]! : null;
}
