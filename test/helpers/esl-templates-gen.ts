/**
 * Regenerates lib/sim/freeswitch-templates.json from the real FreeSWITCH recordings, so the
 * sim server speaks their exact shapes without the fixtures being shipped:
 *   node --import tsx test/helpers/esl-templates-gen.ts > lib/sim/freeswitch-templates.json
 */
import fs from 'node:fs';
import path from 'node:path';
import { EslParser, type EslFrame } from '../../lib/pbx/freeswitch/parser.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/freeswitch');

function frames(scenario: string): EslFrame[] {
  const out: EslFrame[] = [];
  new EslParser().parse(fs.readFileSync(path.join(fixtures, scenario, 'server.raw')), (f) => out.push(f));
  return out;
}

function jsonEvents(scenario: string): Record<string, string>[] {
  return frames(scenario)
    .filter((f) => f.type === 'text/event-json')
    .map((f) => JSON.parse(f.bodyText()) as Record<string, string>);
}

const CALL_EVENTS = new Set([
  'CHANNEL_CREATE', 'CHANNEL_OUTGOING', 'CHANNEL_ORIGINATE', 'CHANNEL_PROGRESS', 'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER', 'CHANNEL_BRIDGE', 'CHANNEL_UNBRIDGE', 'CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE', 'CHANNEL_DESTROY',
]);
const call = jsonEvents('outbound-call-json').filter((e) => CALL_EVENTS.has(e['Event-Name'] ?? ''));
const brute = jsonEvents('register-bruteforce-json');
const pick = (pred: (e: Record<string, string>) => boolean, from = brute): Record<string, string> => {
  const e = from.find(pred);
  if (!e) throw new Error('template not found');
  return e;
};
const sub = (s: string) => (e: Record<string, string>) => e['Event-Subclass'] === s;
const templates = {
  callUuids: { a: call[0]?.['Unique-ID'] ?? '', b: call.find((e) => e['Call-Direction'] === 'outbound')?.['Unique-ID'] ?? '' },
  call,
  registerAttemptForbidden: pick((e) => sub('sofia::register_attempt')(e) && e['auth-result'] === 'FORBIDDEN'),
  registerAttemptRenewed: pick((e) => sub('sofia::register_attempt')(e) && e['auth-result'] === 'RENEWED'),
  registerFailure: pick((e) => sub('sofia::register_failure')(e) && e['registration-type'] === 'REGISTER'),
  registerFailureInvite: pick((e) => sub('sofia::register_failure')(e) && e['registration-type'] === 'INVITE'),
  preRegister: pick(sub('sofia::pre_register')),
  register: pick(sub('sofia::register')),
  wrongCallState: pick(sub('sofia::wrong_call_state'), jsonEvents('invite-scan-json')),
  heartbeat: pick((e) => e['Event-Name'] === 'HEARTBEAT', jsonEvents('outbound-call-json')),
  shutdown: pick((e) => e['Event-Name'] === 'SHUTDOWN', jsonEvents('fs-shutdown-json')),
  backgroundJob: pick((e) => e['Event-Name'] === 'BACKGROUND_JOB', jsonEvents('event-json')),
  channelRows: (JSON.parse(frames('show-commands').filter((f) => f.type === 'api/response')[0]?.bodyText() ?? '{}') as { rows: Record<string, string>[] }).rows,
};

process.stdout.write(`${JSON.stringify(templates, null, 1)}\n`);
