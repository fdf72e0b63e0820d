import { describe, expect, it } from '@jest/globals';
import { fieldName, keysetCondition, selectList } from '../../../../lambdas/core/sources/supabase/postgrest-query.js';

describe('PostgREST query text', () => {
  it('builds the keyset condition for single and composite keys, quoting every value', () => {
    expect(keysetCondition(['id'], ['42'])).toBe('id.gt."42"');
    expect(keysetCondition(['a', 'b'], ['x,y', '7'])).toBe('a.gt."x,y",and(a.eq."x,y",b.gt."7")');
    expect(keysetCondition(['a', 'b', 'c'], ['q"\\', '', '3'])).toBe('a.gt."q\\"\\\\",and(a.eq."q\\"\\\\",b.gt.""),and(a.eq."q\\"\\\\",b.eq."",c.gt."3")');
  });

  it('quotes unusual column names and selects json columns as text', () => {
    expect(fieldName('plain_name')).toBe('plain_name');
    expect(fieldName('Mixed Case')).toBe('"Mixed Case"');
    expect(
      selectList([
        { name: 'id', type: 'bigint', nullable: false, encoding: 'json' },
        { name: 'doc', type: 'jsonb', nullable: true, encoding: 'text' },
      ]),
    ).toBe('id,doc::text');
  });
});
