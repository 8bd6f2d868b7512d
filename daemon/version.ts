import fs from 'node:fs';
import path from 'node:path';

/** The version in package.json, found upwards from this file (daemon/ in a checkout, dist/daemon/ when built). */
export function version(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tollguard' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}
