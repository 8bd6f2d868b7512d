import fs from 'node:fs';

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

/**
 * The lines of a file, streamed in large chunks (constant memory whatever its size), `\r\n`
 * or `\n` ended. `onBytes` is told how far the read has got (progress).
 */
export async function* readLines(file: string, onBytes?: (read: number) => void): AsyncGenerator<Line[]> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20, encoding: 'utf8' });
  let rest = '';
  let number = 0;
  for await (const chunk of stream as AsyncIterable<string>) {
    onBytes?.(stream.bytesRead);
    const text = rest + chunk;
    const lines: Line[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lines.push({ number: ++number, text: text.slice(start, end) });
      start = nl + 1;
    }
    rest = text.slice(start);
    yield lines;
  }
  if (rest.length > 0) yield [{ number: number + 1, text: rest.endsWith('\r') ? rest.slice(0, -1) : rest }];
}
