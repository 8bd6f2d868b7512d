import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';

/**
 * Bytes received on a TCP socket and not yet read by this process: the kernel's receive
 * queue, from /proc/net/tcp{,6} (Linux; the `Recv-Q` of `ss`). Node has no FIONREAD. null
 * when the socket is not found or the files are not there. Read on a metrics scrape, not on
 * a hot path: the files list every socket of the network namespace.
 */
export function unreadBytes(localAddress: string, localPort: number, remotePort: number): number | null {
  const local = localPort.toString(16).toUpperCase().padStart(4, '0');
  const remote = remotePort.toString(16).toUpperCase().padStart(4, '0');
  const v4 = isIPv4(localAddress.replace(/^::ffff:/i, ''));
  for (const file of v4 ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      // "  sl  local_address rem_address   st tx_queue:rx_queue ..."; addresses are HEX:PORT.
      const f = line.trim().split(/\s+/);
      if (f.length < 5 || !f[1]?.endsWith(`:${local}`) || !f[2]?.endsWith(`:${remote}`)) continue;
      const rx = f[4]?.split(':')[1];
      if (rx !== undefined) return parseInt(rx, 16);
    }
  }
  return null;
}
