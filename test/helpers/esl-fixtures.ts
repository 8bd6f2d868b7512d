import fs from 'node:fs';
import path from 'node:path';
import { EslEvent } from '../../lib/pbx/freeswitch/event.js';
import { EslParser, type EslFrame } from '../../lib/pbx/freeswitch/parser.js';

export const ESL_FIXTURES = path.resolve(import.meta.dirname, '../fixtures/freeswitch');

export function eslScenarios(): string[] {
  return fs
    .readdirSync(ESL_FIXTURES)
    .filter((d) => fs.existsSync(path.join(ESL_FIXTURES, d, 'server.raw')))
    .sort();
}

export function serverRaw(scenario: string): Buffer {
  return fs.readFileSync(path.join(ESL_FIXTURES, scenario, 'server.raw'));
}

/** The server's TCP reads with their real boundaries. */
export function serverChunks(scenario: string): Buffer[] {
  return fs
    .readFileSync(path.join(ESL_FIXTURES, scenario, 'transcript.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { dir: string; data: string })
    .filter((r) => r.dir === 'server' && r.data !== '')
    .map((r) => Buffer.from(r.data, 'latin1'));
}

export function parseAll(chunks: Buffer[]): EslFrame[] {
  const out: EslFrame[] = [];
  const p = new EslParser({ onError: (e) => { throw e; } });
  for (const c of chunks) p.parse(c, (f) => out.push(f));
  return out;
}

export function fixtureEvents(scenario: string): EslEvent[] {
  return parseAll([serverRaw(scenario)])
    .map((f) => EslEvent.fromFrame(f))
    .filter((e): e is EslEvent => e !== null);
}
