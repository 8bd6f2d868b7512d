import { execFileSync } from 'node:child_process';
import { createNetns, deleteNetns } from '../../helpers/netns.js';

/** A fresh network namespace with its loopback up (127.0.0.0/8 all local). */
export function labNetns(): string {
  const ns = createNetns('tg-pbx');
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    deleteNetns(ns);
    throw e;
  }
  return ns;
}

export { deleteNetns };

