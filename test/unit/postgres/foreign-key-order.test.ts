import { describe, expect, it } from '@jest/globals';
import { foreignKeyOrder } from '../../../lambdas/core/postgres/catalog.js';

const fk = (references: string) => ({ name: `fk_${references}`, columns: ['x'], references, referencedColumns: ['id'], deferrable: false });

describe('foreign-key order', () => {
  it('puts referenced tables first and keeps self-references and cycles from looping', () => {
    const tables = [
      { qualified: 'order_items', foreignKeys: [fk('orders'), fk('product_variants')] },
      { qualified: 'orders', foreignKeys: [fk('customers')] },
      { qualified: 'employees', foreignKeys: [fk('employees')] },
      { qualified: 'chicken', foreignKeys: [fk('egg')] },
      { qualified: 'egg', foreignKeys: [fk('chicken')] },
      { qualified: 'customers', foreignKeys: [] },
      { qualified: 'product_variants', foreignKeys: [] },
    ];
    const order = foreignKeyOrder(tables).map((t) => t.qualified);
    expect(order).toHaveLength(tables.length);
    expect(order.indexOf('customers')).toBeLessThan(order.indexOf('orders'));
    expect(order.indexOf('orders')).toBeLessThan(order.indexOf('order_items'));
    expect(order.indexOf('product_variants')).toBeLessThan(order.indexOf('order_items'));
    expect(new Set(order).size).toBe(tables.length);
  });
});
