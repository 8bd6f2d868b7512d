import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { REPO } from './lab.js';
import { killHard } from './proc.js';

/** One line of the socket logger: a TCP read (server), a write (client), or the close. */
export interface Chunk {
  t: number;
  at: number;
  dir: 'server' | 'client' | 'meta';
  data?: string;
  eof?: boolean;
  error?: string;
  connected?: boolean;
}

/**
 * A raw TCP connection to the PBX's manager port, made from inside its namespace by the
 * socket logger (socket-logger.ts). Every read and write is kept with its instant, so the same
 * connection is the observer of a test and the recorder of a fixture.
 */
export class RawLink {
  readonly chunks: Chunk[] = [];
  private readonly child: ChildProcess;
  private listeners: ((c: Chunk) => void)[] = [];

  constructor(ns: string, port: number) {
    const logger = path.join(import.meta.dirname, 'socket-logger.ts');
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', logger, '127.0.0.1', String(port)], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const c = JSON.parse(line) as Chunk;
      this.chunks.push(c);
      for (const l of this.listeners) l(c);
    });
  }

  onChunk(l: (c: Chunk) => void): void {
    this.listeners.push(l);
  }

  send(data: string): void {
    this.child.stdin!.write(`${JSON.stringify({ send: data })}\n`);
  }

  end(): void {
    this.child.stdin!.write(`${JSON.stringify({ end: true })}\n`);
  }

  closed(): boolean {
    return this.chunks.some((c) => c.eof === true) || this.child.exitCode !== null;
  }

  async kill(): Promise<void> {
    await killHard(this.child);
  }

  /**
   * Writes the recording in the fixtures' format: transcript.jsonl (one line per read or
   * write, `t` ms since connect; the server's close as `closeKey: true`) and server.raw.
   */
  save(dir: string, prefix = '', closeKey: 'close' | 'eof' = 'close'): void {
    fs.mkdirSync(dir, { recursive: true });
    const lines: string[] = [];
    const raw: Buffer[] = [];
    for (const c of this.chunks) {
      if (c.dir === 'meta') continue;
      if (c.eof) {
        lines.push(JSON.stringify({ t: c.t, dir: c.dir, data: '', [closeKey]: true }));
        continue;
      }
      lines.push(JSON.stringify({ t: c.t, dir: c.dir, data: c.data ?? '' }));
      if (c.dir === 'server') raw.push(Buffer.from(c.data ?? '', 'latin1'));
    }
    fs.writeFileSync(path.join(dir, `${prefix}transcript.jsonl`), `${lines.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, `${prefix}server.raw`), Buffer.concat(raw));
  }
}
