import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

/**
 * The kernel's TCP socket tables of this network namespace (/proc/net/tcp and tcp6, Linux),
 * null where a file is not there. With many sockets (a PBX host in a flood, or thousands in
 * TIME_WAIT) reading them costs the kernel ~15 ms per 12,000 sockets: a scrape reads them once,
 * off the event loop, for every link.
 */
export interface SocketTables {
  v4: string | null;
  v6: string | null;
}

const FILES = ['/proc/net/tcp', '/proc/net/tcp6'] as const;

export async function readSocketTablesAsync(): Promise<SocketTables> {
  const [v4, v6] = await Promise.all(FILES.map((f) => readFile(f, 'latin1').catch(() => null)));
  return { v4: v4 ?? null, v6: v6 ?? null };
}

/**
 * Bytes received on a TCP socket and not yet read by this process: its receive queue in the
 * kernel's tables (the `Recv-Q` of `ss`; Node has no FIONREAD). null when the socket is not
 * found. The tables are searched, not split into lines: they list every socket of the namespace.
 */
export function unreadBytes(localAddress: string, localPort: number, remotePort: number, tables: SocketTables): number | null {
  const local = `:${localPort.toString(16).toUpperCase().padStart(4, '0')} `;
  const remote = `:${remotePort.toString(16).toUpperCase().padStart(4, '0')}`;
  const v4 = isIPv4(localAddress.replace(/^::ffff:/i, ''));
  for (const text of v4 ? [tables.v4, tables.v6] : [tables.v6]) {
    if (text === null) continue;
    for (let at = text.indexOf(local); at !== -1; at = text.indexOf(local, at + 1)) {
      // "  sl  local_address rem_address   st tx_queue:rx_queue ..."; addresses are HEX:PORT.
      const start = text.lastIndexOf('\n', at) + 1;
      const end = text.indexOf('\n', at);
      const f = text.slice(start, end === -1 ? undefined : end).trim().split(/\s+/);
      if (f.length < 5 || !f[1]!.endsWith(local.trimEnd()) || !f[2]!.endsWith(remote)) continue;
      const rx = f[4]!.split(':')[1];
      if (rx !== undefined) return parseInt(rx, 16);
    }
  }
  return null;
}
