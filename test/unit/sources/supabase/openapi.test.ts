import { describe, expect, it } from '@jest/globals';
import { restTypeName, shapeFromDefinition } from '../../../../lambdas/core/sources/supabase/openapi.js';

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
