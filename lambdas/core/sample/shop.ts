import type pg from 'pg';
import { quoteQualified } from '../postgres/connection.js';
import { realisticSeedStatements } from './realistic-seed.js';

/** The plan's nine tables, in foreign-key order. */
export const SHOP_TABLES = ['users', 'customers', 'products', 'product_variants', 'inventory', 'orders', 'order_items', 'reviews', 'wishlists'] as const;

/** Rows per table at scale 1 (~1M rows): the shape of the Live It Iconic shop. */
export const BASE_ROWS: Record<(typeof SHOP_TABLES)[number], number> = {
  users: 60_000,
  customers: 50_000,
  products: 10_000,
  product_variants: 40_000,
  inventory: 40_000,
  orders: 200_000,
  order_items: 500_000,
  reviews: 60_000,
  wishlists: 40_000,
};

export const SHOP_SCHEMA_SQL = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TYPE user_role AS ENUM ('customer', 'staff', 'admin');
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL UNIQUE,
  full_name text NOT NULL,
  role user_role NOT NULL DEFAULT 'customer',
  preferences jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  is_active boolean NOT NULL DEFAULT true,
  bio text
);

CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid REFERENCES users (id),
  first_name text NOT NULL,
  last_name text NOT NULL,
  phone text,
  shipping_address jsonb,
  lifetime_value numeric(12, 2) NOT NULL DEFAULT 0,
  marketing_opt_in boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id bigserial PRIMARY KEY,
  sku text NOT NULL UNIQUE,
  name text NOT NULL,
  description text,
  price numeric(10, 2) NOT NULL CHECK (price >= 0),
  category text NOT NULL,
  tags text[] NOT NULL DEFAULT '{}',
  attributes jsonb,
  thumbnail bytea,
  is_published boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);

CREATE TABLE product_variants (
  id bigserial PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products (id) ON DELETE CASCADE,
  sku text NOT NULL UNIQUE,
  size text,
  color text,
  price_delta numeric(10, 2) NOT NULL DEFAULT 0,
  weight_grams integer
);
CREATE INDEX product_variants_product_id_idx ON product_variants (product_id);

CREATE TABLE inventory (
  variant_id bigint PRIMARY KEY REFERENCES product_variants (id) ON DELETE CASCADE,
  quantity integer NOT NULL CHECK (quantity >= 0),
  reserved integer NOT NULL DEFAULT 0,
  warehouse text NOT NULL,
  restocked_at date,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status order_status NOT NULL DEFAULT 'pending',
  currency char(3) NOT NULL DEFAULT 'USD',
  subtotal numeric(12, 2) NOT NULL,
  shipping numeric(12, 2) NOT NULL DEFAULT 0,
  total numeric(12, 2) GENERATED ALWAYS AS (subtotal + shipping) STORED,
  shipping_address jsonb,
  billing_address jsonb,
  placed_at timestamptz NOT NULL DEFAULT now(),
  shipped_at timestamptz,
  notes text
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);

CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no smallint NOT NULL,
  variant_id bigint NOT NULL REFERENCES product_variants (id),
  product_name text,
  quantity integer NOT NULL CHECK (quantity > 0),
  unit_price numeric(10, 2) NOT NULL,
  PRIMARY KEY (order_id, line_no)
);
CREATE INDEX order_items_variant_id_idx ON order_items (variant_id);

CREATE TABLE reviews (
  id bigserial PRIMARY KEY,
  product_id bigint NOT NULL REFERENCES products (id),
  user_id uuid NOT NULL REFERENCES users (id),
  rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
  title text,
  body text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reviews_product_id_idx ON reviews (product_id);

CREATE TABLE wishlists (
  user_id uuid NOT NULL REFERENCES users (id),
  product_id bigint NOT NULL REFERENCES products (id),
  added_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, product_id)
);

-- The shop's own trigger: a restore that fired it would rewrite every updated_at to the restore time.
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER inventory_touch BEFORE INSERT OR UPDATE ON inventory FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
`;

export function rowsAtScale(scale: number): Record<(typeof SHOP_TABLES)[number], number> {
  const rows = {} as Record<(typeof SHOP_TABLES)[number], number>;
  for (const t of SHOP_TABLES) rows[t] = Math.max(1, Math.round(BASE_ROWS[t] * scale));
  // Every variant has one inventory row; the generator relies on it.
  rows.inventory = rows.product_variants;
  rows.wishlists = Math.min(rows.wishlists, rows.users * rows.products);
  return rows;
}

/** `blocks` distinct md5 hex blocks seeded by `seed` (an SQL expression): ~4 bits per character, compresses like nothing real. */
function noise(seed: string, blocks: string): string {
  return `(SELECT string_agg(md5(${seed} || ':' || k), ' ') FROM generate_series(1, ${blocks}) k)`;
}

/**
 * The first sample shop (profile `incompressible`): text is md5 hex, which compresses ~2.7:1 where a
 * real shop's compresses ~4.5:1, so it hides what a codec or the JSON keys cost. Kept for the bench's
 * `--profile incompressible`, to compare with earlier measurements.
 */
function incompressibleSeedStatements(scale: number): string[] {
  const n = rowsAtScale(scale);
  const base = "timestamptz '2024-01-01 00:00:00+00'";
  return [
    `INSERT INTO users (id, email, full_name, role, preferences, created_at, last_login_at, is_active, bio)
     SELECT md5('user' || i)::uuid, 'user' || i || '@example.com', 'Customer ' || i || ' ' || substr(md5('name' || i), 1, 8),
            (CASE WHEN i % 100 = 0 THEN 'admin' WHEN i % 20 = 0 THEN 'staff' ELSE 'customer' END)::user_role,
            CASE WHEN i % 3 = 0 THEN NULL ELSE jsonb_build_object('newsletter', i % 2 = 0, 'size', (ARRAY['S', 'M', 'L', 'XL'])[1 + i % 4], 'theme', CASE WHEN i % 5 = 0 THEN NULL ELSE 'dark' END) END,
            ${base} + (i % 40000) * interval '13 minutes' + (i % 997) * interval '1.5 seconds',
            CASE WHEN i % 7 = 0 THEN NULL ELSE ${base} + (i % 30000) * interval '17 minutes' END,
            i % 10 <> 0,
            CASE WHEN i % 4 = 0 THEN NULL ELSE 'About me: ' || ${noise("'bio' || i", '12 + i % 10')} END
     FROM generate_series(1, ${n.users}::bigint) i`,
    `INSERT INTO customers (user_id, first_name, last_name, phone, shipping_address, lifetime_value, marketing_opt_in, created_at)
     SELECT md5('user' || (1 + (i * 7) % ${n.users}))::uuid, 'First' || i, 'Last' || (i % 5000),
            CASE WHEN i % 4 = 0 THEN NULL ELSE '+1-555-' || lpad((i % 10000)::text, 4, '0') END,
            jsonb_build_object('line1', i || ' Iconic Avenue', 'city', (ARRAY['New York', 'London', 'Paris', 'Tokyo', 'São Paulo'])[1 + i % 5], 'zip', lpad((i % 99999)::text, 5, '0')),
            ((i * 37) % 500000) / 100.0, i % 3 = 0, ${base} + i * interval '11 minutes'
     FROM generate_series(1, ${n.customers}::bigint) i`,
    `INSERT INTO products (sku, name, description, price, category, tags, attributes, thumbnail, is_published, created_at, updated_at)
     SELECT 'SKU-' || lpad(i::text, 7, '0'), 'Iconic item ' || i,
            'Description of item ' || i || ': ' || ${noise("'desc' || i", '60 + i % 60')},
            ((i * 7919) % 90000 + 500) / 100.0, (ARRAY['apparel', 'accessories', 'footwear', 'home', 'beauty'])[1 + i % 5],
            ARRAY['new', (ARRAY['summer', 'winter', 'classic'])[1 + i % 3]] || CASE WHEN i % 4 = 0 THEN ARRAY['sale'] ELSE ARRAY[]::text[] END,
            CASE WHEN i % 6 = 0 THEN NULL ELSE jsonb_build_object('material', (ARRAY['cotton', 'leather', 'silk'])[1 + i % 3], 'weight', (i % 900) / 10.0) END,
            CASE WHEN i % 2 = 0 THEN decode(md5('img' || i), 'hex') ELSE NULL END,
            i % 9 <> 0, ${base} + i * interval '1 hour', CASE WHEN i % 2 = 0 THEN ${base} + i * interval '90 minutes' END
     FROM generate_series(1, ${n.products}::bigint) i`,
    `INSERT INTO product_variants (product_id, sku, size, color, price_delta, weight_grams)
     SELECT 1 + (i - 1) % ${n.products}, 'VAR-' || lpad(i::text, 8, '0'), (ARRAY['XS', 'S', 'M', 'L', 'XL'])[1 + i % 5],
            (ARRAY['black', 'white', 'gold', 'navy', NULL])[1 + i % 5], ((i % 7) - 3) * 2.5, 100 + (i * 31) % 2000
     FROM generate_series(1, ${n.product_variants}::bigint) i`,
    `INSERT INTO inventory (variant_id, quantity, reserved, warehouse, restocked_at, updated_at)
     SELECT i, (i * 13) % 500, (i * 3) % 7, (ARRAY['NYC-1', 'LDN-2', 'TYO-3'])[1 + i % 3], date '2024-01-01' + (i % 365)::int, ${base} + i * interval '3 minutes'
     FROM generate_series(1, ${n.inventory}::bigint) i`,
    `INSERT INTO orders (customer_id, status, currency, subtotal, shipping, shipping_address, billing_address, placed_at, shipped_at, notes)
     SELECT 1 + (i * 17) % ${n.customers}, (ARRAY['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'])[1 + i % 6]::order_status,
            (ARRAY['USD', 'EUR', 'GBP'])[1 + i % 3], ((i * 7907) % 250000 + 1000) / 100.0, (i % 4) * 4.99,
            jsonb_build_object('name', 'Recipient ' || i, 'line1', i || ' Market Street', 'line2', 'Apt ' || (i % 300), 'city', (ARRAY['Berlin', 'Madrid', 'Austin', 'Sydney'])[1 + i % 4],
                               'zip', lpad((i % 99999)::text, 5, '0'), 'phone', '+1-555-' || lpad((i % 10000)::text, 4, '0'), 'gift', i % 10 = 0, 'instructions', md5('ship' || i) || md5('door' || i)),
            CASE WHEN i % 3 = 0 THEN NULL ELSE jsonb_build_object('name', 'Payer ' || i, 'line1', (i * 7) || ' Billing Road', 'city', (ARRAY['Rome', 'Oslo', 'Lima'])[1 + i % 3],
                               'vat', 'VAT' || md5('vat' || i), 'card_last4', lpad((i % 10000)::text, 4, '0'), 'reference', md5('ref' || i) || md5('ref2' || i)) END,
            ${base} + i * interval '2 minutes', CASE WHEN i % 6 IN (2, 3) THEN ${base} + i * interval '2 minutes' + interval '2 days' END,
            CASE WHEN i % 8 = 0 THEN 'Please gift wrap, order ' || i || E'\\n' || md5('note' || i) END
     FROM generate_series(1, ${n.orders}::bigint) i`,
    `INSERT INTO order_items (order_id, line_no, variant_id, product_name, quantity, unit_price)
     SELECT 1 + (i - 1) % ${n.orders}, 1 + (i - 1) / ${n.orders}, 1 + (i * 7) % ${n.product_variants},
            'Iconic item ' || (1 + (i * 7) % ${n.products}) || ' (' || (ARRAY['XS', 'S', 'M', 'L', 'XL'])[1 + i % 5] || ', ' || substr(md5('pn' || i), 1, 12) || ')',
            1 + i % 4, ((i * 4271) % 30000 + 500) / 100.0
     FROM generate_series(1, ${n.order_items}::bigint) i`,
    `INSERT INTO reviews (product_id, user_id, rating, title, body, created_at)
     SELECT 1 + (i * 3) % ${n.products}, md5('user' || (1 + (i * 11) % ${n.users}))::uuid, 1 + i % 5,
            CASE WHEN i % 5 = 0 THEN NULL ELSE 'Review ' || i END,
            'Loved it! ' || ${noise("'review' || i", '16 + i % 48')}, ${base} + i * interval '5 minutes'
     FROM generate_series(1, ${n.reviews}::bigint) i`,
    `INSERT INTO wishlists (user_id, product_id, added_at)
     SELECT md5('user' || (1 + (i - 1) % ${n.users}))::uuid, 1 + ((i - 1) / ${n.users} + i * 13) % ${n.products}, ${base} + i * interval '7 minutes'
     FROM generate_series(1, ${n.wishlists}::bigint) i
     ON CONFLICT DO NOTHING`,
    'ANALYZE',
  ];
}

/** `realistic` compresses like a real shop's data (the default); `incompressible` is the first, md5-hex generator. */
export const SHOP_PROFILES = ['realistic', 'incompressible'] as const;
export type ShopProfile = (typeof SHOP_PROFILES)[number];

/**
 * The statements that fill the shop deterministically (same scale and profile, same rows, on any
 * server of one major version): values derive from the row number, never from random(). Row
 * numbers are bigint so that the arithmetic does not overflow at larger scales. They run in one
 * session: the realistic profile creates its helper functions in pg_temp first.
 */
export function seedStatements(scale: number, profile: ShopProfile = 'realistic'): string[] {
  return profile === 'realistic' ? realisticSeedStatements(rowsAtScale(scale)) : incompressibleSeedStatements(scale);
}

/** Creates the shop schema and fills it. */
export async function createShop(client: pg.Client, scale: number, profile: ShopProfile = 'realistic'): Promise<void> {
  await client.query(SHOP_SCHEMA_SQL);
  for (const statement of seedStatements(scale, profile)) await client.query(statement);
}

export interface TableFingerprint {
  readonly table: string;
  readonly rows: number;
  /** md5 of every row's text in a stable order: equal fingerprints mean equal contents. */
  readonly md5: string;
}

/** Fingerprints tables by content, to prove a restore brought every row back exactly. */
export async function fingerprintTables(client: pg.Client, tables: readonly { schema: string; name: string; qualified: string }[]): Promise<TableFingerprint[]> {
  const out: TableFingerprint[] = [];
  for (const t of tables) {
    const { rows } = await client.query<{ n: string; md5: string | null }>(
      `SELECT count(*)::text AS n, md5(string_agg(r::text, E'\\n' ORDER BY r::text)) AS md5 FROM ${quoteQualified(t.schema, t.name)} r`,
    );
    out.push({ table: t.qualified, rows: Number(rows[0]!.n), md5: rows[0]!.md5 ?? 'empty' });
  }
  return out;
}
