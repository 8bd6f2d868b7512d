import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { configSchema } from '../../lib/config/schema.js';

describe('config schema', () => {
  it('is a valid JSON Schema (the loader skips this check at start)', () => {
    const ajv = new Ajv({ strict: false, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'tgDuration', schemaType: 'boolean' });
    const valid = ajv.validateSchema(configSchema);
    assert.equal(valid, true, JSON.stringify(ajv.errors));
  });

  it('a schema mistake is caught by that check', () => {
    const ajv = new Ajv({ strict: false });
    assert.equal(ajv.validateSchema({ type: 'object', properties: { mode: { type: 'strnig' } } }), false);
  });
});
