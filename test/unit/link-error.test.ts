import assert from 'node:assert/strict';
import { classifyLinkError, describeLinkError } from '../../lib/net/link-error.js';
import { TollguardError } from '../../lib/result.js';

describe('link errors in the operator\'s words', () => {
  const errno = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

  it('classifies socket errors, coded failures of the layers above and plain reasons', () => {
    const cases: [Parameters<typeof classifyLinkError>[0], string][] = [
      [errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5038'), 'connection refused'],
      [errno('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.3:8021'), 'timed out'],
      [errno('ECONNRESET', 'read ECONNRESET'), 'dropped by the PBX'],
      [errno('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.3:8021'), 'host unreachable'],
      [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND pbx.example'), 'host name not found'],
      [new TollguardError('TG_ERR_PBX_AUTH', 'AMI login as "tollguard" refused: Authentication failed'), 'authentication failed'],
      [new TollguardError('TG_ERR_PBX_TIMEOUT', 'keep-alive failed'), 'timed out'],
      [new TollguardError('TG_ERR_PBX_FRAME', 'bad Content-Length'), 'protocol error'],
      ['closed by the PBX', 'dropped by the PBX'],
    ];
    for (const [cause, text] of cases) {
      const e = classifyLinkError(cause, 5);
      assert.equal(describeLinkError(e), `${text} (${typeof cause === 'string' ? cause : cause.message})`);
      assert.equal(e.at, 5);
    }
  });
});
