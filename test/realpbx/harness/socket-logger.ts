import net from 'node:net';
import readline from 'node:readline';

/**
 * A raw socket logger, run inside the PBX's network namespace (`ip netns exec NS node
 * --import tsx socket-logger.ts HOST PORT`): it connects, and prints every TCP read as one
 * JSON line `{"t": ms since connect (3 decimals), "at": epoch ms, "dir": "server", "data":
 * latin1}`. Lines read on stdin (`{"send": latin1}`, `{"end": true}`) are written to the
 * socket and echoed with `"dir": "client"`. When the server closes: `{"data": "", "eof":
 * true}`. It knows no protocol: the observer parses what it prints, and the recordings are
 * exactly its output.
 */

const [host = '127.0.0.1', portText = '0'] = process.argv.slice(2);
const t0 = performance.now();
const epoch0 = Date.now();
const now = (): { t: number; at: number } => {
  const t = performance.now() - t0;
  return { t: Math.round(t * 1000) / 1000, at: epoch0 + t };
};
const out = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

const socket = net.connect(Number(portText), host);
socket.setNoDelay(true);
socket.on('connect', () => out({ ...now(), dir: 'meta', connected: true }));
socket.on('data', (d: Buffer) => out({ ...now(), dir: 'server', data: d.toString('latin1') }));
socket.on('end', () => out({ ...now(), dir: 'server', data: '', eof: true }));
socket.on('error', (e) => out({ ...now(), dir: 'meta', error: e.message }));
socket.on('close', () => process.exit(0));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as { send?: string; end?: boolean };
  if (cmd.send !== undefined) {
    out({ ...now(), dir: 'client', data: cmd.send });
    socket.write(Buffer.from(cmd.send, 'latin1'));
  }
  if (cmd.end) socket.end();
});
process.stdin.on('end', () => socket.destroy());
