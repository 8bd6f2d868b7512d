import net from 'node:net';
import { parseListen } from '../notify/metrics.js';

/** A whole exchange, however slow the PBX, and the PBX's closing of its side after it: past this the connection is dropped (the hook falls back). */
const SESSION_MS = 10_000;

export interface TcpService {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP server for one of the PBXs' pre-call connections: each connection is handed to
 * `serve` and dropped past SESSION_MS; `close` stops listening and drops the connections
 * still open (a PBX whose request is cut short falls back to the flags, as when tollguard
 * is stopped).
 */
export async function listenTcp(listen: string, serve: (socket: net.Socket) => void): Promise<TcpService> {
  const addr = parseListen(listen);
  if (!addr) throw new Error(`"${listen}" is not host:port`);
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    const deadline = setTimeout(() => socket.destroy(), SESSION_MS);
    deadline.unref();
    socket.on('close', () => {
      open.delete(socket);
      clearTimeout(deadline);
    });
    socket.setNoDelay(true);
    serve(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
