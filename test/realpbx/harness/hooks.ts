import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './lab.js';

/**
 * Installs the Asterisk hook as docs/dialplan.md says: the file beside extensions.conf, the
 * `#include` at its end, and `GoSub(tollguard-check,${EXTEN},1)` before the trunk Dial of the
 * lab's outbound route (`_X.` in from-internal).
 */
export function installAsteriskHook(etc: string): void {
  fs.copyFileSync(path.join(REPO, 'dialplan/asterisk/tollguard.conf'), path.join(etc, 'tollguard.conf'));
  const file = path.join(etc, 'extensions.conf');
  const text = fs.readFileSync(file, 'utf8');
  const beforeDial = ' same => n,GotoIf($["${ROUTE}" = "local"]?viaLocal)';
  if (!text.includes(beforeDial)) throw new Error(`the lab's extensions.conf has changed: no "${beforeDial}"`);
  fs.writeFileSync(file, `${text.replace(beforeDial, ` same => n,GoSub(tollguard-check,\${EXTEN},1)\n${beforeDial}`)}\n#include "tollguard.conf"\n`);
}

/**
 * Installs the FreeSWITCH hook as docs/dialplan.md says: the file in a directory of its own
 * under conf/dialplan, included as the first line of the context that bridges to gateways.
 */
export function installFreeswitchHook(conf: string): void {
  const dir = path.join(conf, 'dialplan/tollguard');
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(REPO, 'dialplan/freeswitch/tollguard.xml'), path.join(dir, 'tollguard.xml'));
  const file = path.join(conf, 'dialplan/default.xml');
  const text = fs.readFileSync(file, 'utf8');
  const context = '<context name="default">';
  if (!text.includes(context)) throw new Error(`the lab's default.xml has changed: no ${context}`);
  fs.writeFileSync(file, text.replace(context, `${context}\n    <X-PRE-PROCESS cmd="include" data="tollguard/tollguard.xml"/>`));
}

/**
 * AMI events carry the PBX's own `Timestamp:` (manager.conf `timestampevents = yes`; the lab
 * leaves the default, no), so that durations can be measured by Asterisk's clock.
 */
export function asteriskTimestamps(etc: string): void {
  const file = path.join(etc, 'manager.conf');
  const text = fs.readFileSync(file, 'utf8');
  if (!/^timestampevents = no$/m.test(text)) throw new Error('the lab\'s manager.conf has changed: no "timestampevents = no"');
  fs.writeFileSync(file, text.replace(/^timestampevents = no$/m, 'timestampevents = yes'));
}
