import { describe, expect, it } from 'vitest';
import { OperationFailedError } from '../../../lambdas/core/errors.js';
import { fieldName, filterValue, keysetCondition, objectMembers, restTypeName, selectList, shapeFromDefinition, splitJsonArray } from '../../../lambdas/core/sources/supabase-source.js';

describe('splitJsonArray', () => {
  it('returns each object exactly as written, numbers untouched', () => {
    const text = '[{"id":9223372036854775807,"n":12345678901234567890.123456789}, \n {"id":1,"n":1e-30}]';
    expect(splitJsonArray(text)).toEqual(['{"id":9223372036854775807,"n":12345678901234567890.123456789}', '{"id":1,"n":1e-30}']);
  });

  it('is not fooled by brackets, braces, commas and escaped quotes inside strings', () => {
    const rows = ['{"a":"x,y(z)]}{[\\"q\\\\"}', '{"b":"\\\\"}', '{"c":"\\\\\\"]"}', '{"d":{"e":[1,{"f":"}"}]},"g":[]}'];
    expect(splitJsonArray(`[${rows.join(',')}]`)).toEqual(rows);
    for (const row of rows) expect(() => JSON.parse(row)).not.toThrow();
  });

  it('accepts an empty array and surrounding whitespace', () => {
    expect(splitJsonArray('[]')).toEqual([]);
    expect(splitJsonArray(' \n[ ] \n')).toEqual([]);
    expect(splitJsonArray('\n[ {"a":1} ,\t{"a":2}\n]\n')).toEqual(['{"a":1}', '{"a":2}']);
  });

  it('puts a row that carries raw line breaks (a nested json value) on one line, strings kept', () => {
    const [row] = splitJsonArray('[{"c":{"keep" :  "spa ced\\n",\n "x": [1,\r\n 2]}}]');
    expect(row).toBe('{"c":{"keep":"spa ced\\n","x":[1,2]}}');
  });

  it('refuses text that is not an array of objects', () => {
    for (const bad of ['', '{"a":1}', '[1,2]', '[{"a":1}', '[{"a":"1}]', '[{"a":1}]x', '[{"a":1},]', '<html>']) expect(() => splitJsonArray(bad), bad).toThrow(OperationFailedError);
  });
});

describe('objectMembers and filterValue', () => {
  it('finds the raw text of the key columns', () => {
    const members = objectMembers('{"order_id":9007199254740993,"note":"a,\\"b\\"","line_no":2,"name":"x \\"y\\" \\\\ z"}', new Set(['order_id', 'line_no', 'name']));
    expect(Object.fromEntries(members)).toEqual({ order_id: '9007199254740993', line_no: '2', name: '"x \\"y\\" \\\\ z"' });
    expect(filterValue(members.get('order_id')!)).toBe('9007199254740993');
    expect(filterValue(members.get('name')!)).toBe('x "y" \\ z');
  });

  it('refuses key values that cannot be a filter', () => {
    expect(() => filterValue('null')).toThrow(OperationFailedError);
    expect(() => filterValue('[1,2]')).toThrow(OperationFailedError);
  });
});

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

describe('table shapes from the REST description', () => {
  // As PostgREST 12 describes the shop's orders table (generated `total` looks like any other column).
  const orders = {
    required: ['id', 'customer_id', 'status', 'currency', 'subtotal', 'shipping', 'placed_at'],
    properties: {
      id: { description: 'Note:\nThis is a Primary Key.<pk/>', format: 'bigint', type: 'integer' },
      customer_id: { description: "Note:\nThis is a Foreign Key to `customers.id`.<fk table='customers' column='id'/>", format: 'bigint', type: 'integer' },
      status: { default: 'pending', enum: ['pending', 'paid'], format: 'public.order_status', type: 'string' },
      currency: { default: "'USD'::bpchar", format: 'character', maxLength: 3, type: 'string' },
      subtotal: { format: 'numeric', type: 'number' },
      shipping: { default: 0, format: 'numeric', type: 'number' },
      total: { format: 'numeric', type: 'number' },
      shipping_address: { format: 'jsonb' },
      tags: { format: 'public.order_status[]', type: 'array' },
      placed_at: { default: 'now()', format: 'timestamp with time zone', type: 'string' },
    },
  };

  it('reads columns in order, types without schema, nullability, keys, and json columns as text', () => {
    const shape = shapeFromDefinition('public', 'orders', orders, ['total']);
    expect(shape.qualified).toBe('orders');
    expect(shape.columns.map((c) => `${c.name} ${c.type}${c.nullable ? '' : ' not null'}${c.encoding === 'text' ? ' (text)' : ''}`)).toEqual([
      'id bigint not null',
      'customer_id bigint not null',
      'status order_status not null',
      'currency character(3) not null',
      'subtotal numeric not null',
      'shipping numeric not null',
      'shipping_address jsonb (text)',
      'tags order_status[]',
      'placed_at timestamp with time zone not null',
    ]);
    expect(shape.generatedColumns).toEqual(['total']);
    expect(shape.primaryKey).toEqual(['id']);
    expect(shape.foreignKeys).toEqual([{ name: 'orders_customer_id_fkey', columns: ['customer_id'], references: 'customers', referencedColumns: ['id'], deferrable: false }]);
  });

  it('qualifies tables outside public and refuses unknown generated columns', () => {
    expect(shapeFromDefinition('sales', 'orders', orders).qualified).toBe('sales.orders');
    expect(() => shapeFromDefinition('public', 'orders', orders, ['totl'])).toThrow(/totl/);
  });

  it('names types as format_type does, without the schema', () => {
    expect(restTypeName({ format: 'public.user_role' })).toBe('user_role');
    expect(restTypeName({ format: '"My Schema".mood[]' })).toBe('mood[]');
    expect(restTypeName({ format: 'timestamp with time zone' })).toBe('timestamp with time zone');
    expect(restTypeName({ format: 'character varying', maxLength: 20 })).toBe('character varying(20)');
    expect(restTypeName({ type: 'string' })).toBe('string');
  });
});
