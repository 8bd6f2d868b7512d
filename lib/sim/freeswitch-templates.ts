import data from './freeswitch-templates.json' with { type: 'json' };

/**
 * The shapes of a real FreeSWITCH 1.10.12's events, taken from test/fixtures/freeswitch by
 * test/helpers/esl-templates-gen.ts into freeswitch-templates.json (data, not code): the
 * simulator substitutes uuids, numbers and times into them.
 */

/** Values are strings, or lists for multi-valued variables (JSON arrays, plain ARRAY::a|:b). */
export type EslValue = string | string[];
export type EslTemplate = Readonly<Record<string, EslValue>>;

interface Templates {
  callUuids: { a: string; b: string };
  call: EslTemplate[];
  registerAttemptForbidden: EslTemplate;
  registerAttemptRenewed: EslTemplate;
  registerFailure: EslTemplate;
  registerFailureInvite: EslTemplate;
  preRegister: EslTemplate;
  register: EslTemplate;
  wrongCallState: EslTemplate;
  heartbeat: EslTemplate;
  shutdown: EslTemplate;
  backgroundJob: EslTemplate;
  channelRows: EslTemplate[];
}

// The asset's shape is checked by the generator, not re-derived by the compiler from 160 KB of JSON.
export const FS_TEMPLATES = data as unknown as Templates;
