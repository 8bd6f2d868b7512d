import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Why real-nft tests cannot run here, or null when they can (root and nft present). */
export function nftUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (spawnSync('nft', ['--version']).status !== 0) return 'nft not installed';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (ip) not installed';
  return null;
}

/** A fresh network namespace; delete it with deleteNetns (idempotent). */
export function createNetns(prefix = 'tg-test'): string {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}

export function deleteNetns(name: string): void {
  spawnSync('ip', ['netns', 'delete', name]);
}

/** `nft` inside a namespace, for assertions (flush a set, list it). */
export function nftIn(ns: string, ...args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', ns, 'nft', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
