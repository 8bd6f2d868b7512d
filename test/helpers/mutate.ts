/**
 * Deterministic mutation of recorded PBX byte streams, for the parser fuzz test and
 * bench/fuzz.ts: the same seed always gives the same hostile input, so a failure is
 * reproducible from the seed printed with it.
 */

/** mulberry32: small, fast, good enough to pick mutations. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);

/** Byte sequences that break decoders: bad UTF-8, broken percent-escapes, stray CR/LF, NUL. */
const NASTY = [
  [0xc3, 0x28], [0xff], [0xfe, 0xff], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0x80],
  ...['%', '%Z', '%ZZ', '%E2%82', '%FF%FE', '%00', '%25', '%%%', '\r', '\n', '\r\n', '\n\n', '\r\n\r\n', '\0', ': ', ':', '{"', '"}', '\\u0000', '\\ud800']
    .map((s) => [...Buffer.from(s, 'latin1')]),
].map((b) => Buffer.from(b));

/** Replacements for a Content-Length value: wrong, negative, huge, not a number. */
const BAD_LENGTHS = ['-1', '-99999', '0', '1', '99999999999999', '9'.repeat(40), '1e3', '0x10', ' 12', '12 ', '', 'NaN', '4294967296', '+5'];

export const MUTATIONS = [
  'bit-flip', 'insert-bytes', 'delete-range', 'truncate', 'duplicate-chunk', 'nasty-bytes',
  'oversized-line', 'oversized-body', 'content-length', 'swap-chunks', 'strip-cr', 'random-garbage',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutation of `input` (never modifies it); `kind` is what was done. */
export function mutate(input: Buffer, rng: Rng, opts: { hugeBytes?: number } = {}): { out: Buffer; kind: Mutation } {
  const huge = opts.hugeBytes ?? 200_000;
  const kind = MUTATIONS[int(rng, MUTATIONS.length)]!;
  const n = input.length;
  const at = n === 0 ? 0 : int(rng, n);
  const span = Math.min(n - at, 1 + int(rng, 256));
  switch (kind) {
    case 'bit-flip': {
      const out = Buffer.from(input);
      for (let i = 0, flips = 1 + int(rng, 8); i < flips && n > 0; i++) {
        const p = int(rng, n);
        out[p] = out[p]! ^ (1 << int(rng, 8));
      }
      return { out, kind };
    }
    case 'insert-bytes': {
      const bytes = Buffer.alloc(1 + int(rng, 64));
      for (let i = 0; i < bytes.length; i++) bytes[i] = int(rng, 256);
      return { out: Buffer.concat([input.subarray(0, at), bytes, input.subarray(at)]), kind };
    }
    case 'delete-range':
      return { out: Buffer.concat([input.subarray(0, at), input.subarray(at + span)]), kind };
    case 'truncate':
      return { out: input.subarray(0, at), kind };
    case 'duplicate-chunk': {
      const chunk = input.subarray(at, at + span);
      const times = 1 + int(rng, 4);
      return { out: Buffer.concat([input.subarray(0, at + span), ...Array.from({ length: times }, () => chunk), input.subarray(at + span)]), kind };
    }
    case 'nasty-bytes': {
      const parts: Buffer[] = [];
      let last = 0;
      for (let i = 0, k = 1 + int(rng, 6); i < k; i++) {
        const p = Math.max(last, int(rng, n + 1));
        parts.push(input.subarray(last, p), NASTY[int(rng, NASTY.length)]!);
        last = p;
      }
      parts.push(input.subarray(last));
      return { out: Buffer.concat(parts), kind };
    }
    case 'oversized-line': {
      // A header value (or a line) that never ends, or ends after far more than any cap.
      const fill = Buffer.alloc(huge + int(rng, huge), rng() < 0.5 ? 0x41 : 0x25);
      const tail = rng() < 0.5 ? Buffer.from('\r\n') : Buffer.alloc(0);
      return { out: Buffer.concat([input.subarray(0, at), fill, tail, input.subarray(at)]), kind };
    }
    case 'oversized-body': {
      const body = Buffer.alloc(huge + int(rng, huge), 0x7b);
      const head = Buffer.from(`Content-Length: ${body.length}\nContent-Type: text/event-json\n\n`, 'latin1');
      return { out: Buffer.concat([input.subarray(0, at), head, body.subarray(0, rng() < 0.5 ? body.length : int(rng, body.length)), input.subarray(at)]), kind };
    }
    case 'content-length': {
      const text = input.toString('latin1');
      const re = /Content-Length: ?(\d+)/g;
      const hits = [...text.matchAll(re)];
      if (hits.length === 0) return mutate(input, rng, opts);
      const hit = hits[int(rng, hits.length)]!;
      const value = rng() < 0.5 ? BAD_LENGTHS[int(rng, BAD_LENGTHS.length)]! : String(Number(hit[1]) + int(rng, 41) - 20);
      const start = hit.index + hit[0].length - hit[1]!.length;
      return { out: Buffer.concat([input.subarray(0, start), Buffer.from(value, 'latin1'), input.subarray(start + hit[1]!.length)]), kind };
    }
    case 'swap-chunks': {
      const b = n === 0 ? 0 : int(rng, n);
      const [x, y] = at < b ? [at, b] : [b, at];
      return { out: Buffer.concat([input.subarray(0, x), input.subarray(y), input.subarray(x, y)]), kind };
    }
    case 'strip-cr': {
      const text = input.toString('latin1');
      return { out: Buffer.from(rng() < 0.5 ? text.replace(/\r/g, '') : text.replace(/\n/g, '\r\n'), 'latin1'), kind };
    }
    case 'random-garbage': {
      const g = Buffer.alloc(1 + int(rng, 4096));
      for (let i = 0; i < g.length; i++) g[i] = int(rng, 256);
      return { out: Buffer.concat([input.subarray(0, at), g, input.subarray(at)]), kind };
    }
  }
}

/** Several stacked mutations. */
export function mutateMany(input: Buffer, rng: Rng, count: number, opts: { hugeBytes?: number } = {}): { out: Buffer; kinds: Mutation[] } {
  let out = input;
  const kinds: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    const m = mutate(out, rng, opts);
    out = m.out;
    kinds.push(m.kind);
  }
  return { out, kinds };
}

/** Random split points (a TCP stream read in arbitrary pieces, single bytes included). */
export function split(input: Buffer, rng: Rng): Buffer[] {
  const chunks: Buffer[] = [];
  let pos = 0;
  while (pos < input.length) {
    const r = rng();
    const size = r < 0.1 ? 1 : r < 0.5 ? 1 + int(rng, 64) : r < 0.9 ? 1 + int(rng, 4096) : 1 + int(rng, 65536);
    chunks.push(input.subarray(pos, pos + size));
    pos += size;
  }
  return chunks;
}
