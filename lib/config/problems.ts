import type { Document, LineCounter } from 'yaml';

/** One problem, with where it is: `pbx[0].port (line 7): must be <= 65535`. */
export interface ConfigProblem {
  path: string;
  line: number | null;
  /** Known for YAML syntax errors, where the line alone may not show the culprit. */
  column?: number;
  message: string;
}

export function formatProblems(file: string, problems: ConfigProblem[]): string {
  return problems.map((p) => `${file}${p.line !== null ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : ''}: ${p.path}: ${p.message}`).join('\n');
}

/** YAML syntax errors with their line and column (the yaml package's own text has neither here). */
export function yamlProblems(doc: Document, lc: LineCounter): ConfigProblem[] {
  return doc.errors.map((err) => {
    const at = lc.linePos(err.pos[0]);
    return { path: '(yaml)', line: at.line, column: at.col, message: (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '') };
  });
}
