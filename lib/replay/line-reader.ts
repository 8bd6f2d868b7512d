import fs from 'node:fs';

/**
 * The lines of one chunk of a file, where they are in it: line i runs from `starts[i]` to
 * `ends[i]` in `text` (its `\r\n` or `\n` left out) and is line `first + i` of the file.
 * The CSV formats read each line in place; cutting them out would make each a sliced
 * string, which the CSV scan reads about 40 % slower (bench/replay.ts).
 */
export interface LineBlock {
  text: string;
  /** 1-based number of the block's first line. */
  first: number;
  starts: readonly number[];
  ends: readonly number[];
}

/** Line i of a block as a string of its own making (the JSON format parses whole lines). */
export function lineText(b: LineBlock, i: number): string {
  return b.text.slice(b.starts[i], b.ends[i]);
}

/**
 * The lines of a file, streamed in large chunks (constant memory whatever its size), `\r\n`
 * or `\n` ended. `onBytes` is told how far the read has got (progress).
 */
export async function* readLines(file: string, onBytes?: (read: number) => void): AsyncGenerator<LineBlock> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' });
  let rest = '';
  let number = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    onBytes?.(stream.bytesRead);
    const text = rest + chunk;
    const starts: number[] = [];
    const ends: number[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      starts.push(start);
      ends.push(nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
      start = nl + 1;
    }
    rest = text.slice(start);
    yield { text, first: number + 1, starts, ends };
    number += starts.length;
  }
  if (rest.length > 0) yield { text: rest, first: number + 1, starts: [0], ends: [rest.endsWith('\r') ? rest.length - 1 : rest.length] };
}
