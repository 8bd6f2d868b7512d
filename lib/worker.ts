import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module `name` beside `here` (import.meta.url of the caller).
 * Compiled, that is the .js file. Under tsx (tests, benches) it is the .ts, and a worker
 * does not inherit tsx's loader: it registers tsx's hooks first.
 */
export function startWorker(here: string, name: string, workerData: unknown): Worker {
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, here), { workerData });
  // tsx/esm/api's `import` entry: the `require` one beside it, .mjs for .cjs (its exports map).
  const api = JSON.stringify(pathToFileURL(createRequire(here).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href);
  const entry = JSON.stringify(new URL(`./${name}.ts`, here).href);
  return new Worker(`import(${api}).then((tsx) => { tsx.register(); return import(${entry}); })`, { eval: true, workerData });
}
