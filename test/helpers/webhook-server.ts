import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook { url: string; bodies: Record<string, unknown>[]; headers: http.IncomingHttpHeaders[]; pending: http.ServerResponse[]; close(): Promise<void> }

/** A real HTTP receiver; `respond` decides per request (status, or 'hang' to never answer). */
export async function webhookServer(respond: (n: number) => number | 'hang' = () => 204): Promise<Hook> {
  const hook: Hook = { url: '', bodies: [], headers: [], pending: [], close: async () => undefined };
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => { data += c.toString('utf8'); });
    req.on('end', () => {
      hook.bodies.push(JSON.parse(data) as Record<string, unknown>);
      hook.headers.push(req.headers);
      const r = respond(hook.bodies.length);
      if (r === 'hang') hook.pending.push(res);
      else res.writeHead(r).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  hook.close = async () => {
    for (const r of hook.pending) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return hook;
}
