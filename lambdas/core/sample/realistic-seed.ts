import * as V from './vocabulary.js';

/**
 * Row counts per table, as shop.ts's rowsAtScale returns them (a structural copy, so that this
 * module does not import shop.ts back).
 */
export type ShopRows = Readonly<Record<'users' | 'customers' | 'products' | 'product_variants' | 'inventory' | 'orders' | 'order_items' | 'reviews' | 'wishlists', number>>;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
const array = (words: readonly string[]) => `ARRAY[${words.map(literal).join(', ')}]::text[]`;

/**
 * Session-local helpers (pg_temp, gone with the connection, never part of the shop's schema).
 * `u(seed)` is a deterministic uniform number in [0, 1) from hashint8, the same on every server of
 * one major version; `skewed` picks favour the front of a list (u²), as popular values do; names,
 * addresses and product names are functions of an entity's number, so an order repeats its
 * customer's address and an order line its product's name, as real rows do.
 */
function helpers(): string[] {
  const cities = V.CITIES;
  return [
    `CREATE FUNCTION pg_temp.u(seed bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8(seed)::float8 + 2147483648) / 4294967296 $$`,
    `CREATE FUNCTION pg_temp.pick(words text[], seed bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT words[1 + floor(pg_temp.u(seed) * cardinality(words))::int] $$`,
    `CREATE FUNCTION pg_temp.skewed(words text[], seed bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT words[1 + floor(pg_temp.u(seed) ^ 2 * cardinality(words))::int] $$`,
    // `n` sentences: mostly the shop's stock phrases, some free text of common words.
    `CREATE FUNCTION pg_temp.prose(phrases text[], seed bigint, n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT string_agg(CASE WHEN pg_temp.u(seed * 4096 + k) < 0.75 THEN pg_temp.skewed(phrases, seed * 4096 + 2048 + k)
                              ELSE initcap(pg_temp.pick(${array(V.COMMON_WORDS)}, seed * 65536 + k * 32)) || ' ' ||
                                   (SELECT string_agg(pg_temp.skewed(${array(V.COMMON_WORDS)}, seed * 65536 + k * 32 + j), ' ') FROM generate_series(1, 4 + floor(pg_temp.u(seed * 8192 + k) * 12)::int) j) || '.' END, ' ')
       FROM generate_series(1, n) k $$`,
    `CREATE FUNCTION pg_temp.first_name(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT pg_temp.skewed(${array(V.FIRST_NAMES)}, k * 64 + 1) $$`,
    `CREATE FUNCTION pg_temp.last_name(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT pg_temp.skewed(${array(V.LAST_NAMES)}, k * 64 + 2) $$`,
    `CREATE FUNCTION pg_temp.phone(k bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT '+1 (' || (200 + floor(pg_temp.u(k * 64 + 3) * 800)::int) || ') 555-' || lpad(floor(pg_temp.u(k * 64 + 4) * 10000)::int::text, 4, '0') $$`,
    // A postal address document, the shape checkout forms produce (same keys on every row).
    `CREATE FUNCTION pg_temp.address(k bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
       SELECT jsonb_build_object(
         'line1', (1 + floor(pg_temp.u(k * 64 + 10) ^ 2 * 9999)::int) || ' ' || pg_temp.pick(${array(V.STREET_NAMES)}, k * 64 + 11) || ' ' || pg_temp.skewed(${array(V.STREET_SUFFIXES)}, k * 64 + 12),
         'line2', CASE WHEN pg_temp.u(k * 64 + 13) < 0.3 THEN 'Apt ' || (1 + floor(pg_temp.u(k * 64 + 14) * 40)::int) || pg_temp.pick(ARRAY['A', 'B', 'C', 'D'], k * 64 + 15) END,
         'city', (${array(cities.map((c) => c[0]))})[c], 'region', (${array(cities.map((c) => c[1]))})[c],
         'postal_code', (${array(cities.map((c) => c[3]))})[c] || lpad(floor(pg_temp.u(k * 64 + 16) * 100)::int::text, 2, '0'),
         'country', (${array(cities.map((c) => c[2]))})[c])
       FROM (SELECT 1 + floor(pg_temp.u(k * 64 + 17) ^ 2 * ${cities.length})::int AS c) city $$`,
    `CREATE FUNCTION pg_temp.product_name(p bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
       SELECT pg_temp.skewed(${array(V.ADJECTIVES)}, p * 64 + 1) || ' ' || pg_temp.pick(${array(V.MATERIALS)}, p * 64 + 2) || ' ' || pg_temp.pick(${array(V.PRODUCT_NOUNS)}, p * 64 + 3) $$`,
    // Prices end in .99 or .00 and cluster low, as a shop's do.
    `CREATE FUNCTION pg_temp.price(p bigint) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
       SELECT (round(9 + pg_temp.u(p * 64 + 4) ^ 2 * 390) - CASE WHEN pg_temp.u(p * 64 + 5) < 0.8 THEN 0.01 ELSE 0 END)::numeric(10, 2) $$`,
    `CREATE FUNCTION pg_temp.size(v bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN pg_temp.u(v * 64 + 1) < 0.1 THEN NULL ELSE pg_temp.skewed(${array(V.SIZES)}, v * 64 + 2) END $$`,
    `CREATE FUNCTION pg_temp.color(v bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN pg_temp.u(v * 64 + 3) < 0.05 THEN NULL ELSE pg_temp.skewed(${array(V.COLORS)}, v * 64 + 4) END $$`,
    // A timestamp with microseconds, like now(), spread over two years.
    `CREATE FUNCTION pg_temp.moment(seed bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
       SELECT timestamptz '2024-01-01 00:00:00+00' + floor(pg_temp.u(seed) * 63072000000000)::bigint * interval '1 microsecond' $$`,
  ];
}

/**
 * The realistic sample shop (the default profile): names, e-mails and addresses from vocabularies,
 * product descriptions and reviews from stock phrases and common words, orders with jsonb address
 * and payment documents whose keys repeat on every row, skewed statuses, currencies, prices and
 * popularity, NULLs where real rows have them, and a few long texts. Deterministic: the same scale
 * gives the same rows on any server of the same major version.
 */
export function realisticSeedStatements(n: ShopRows): string[] {
  return [
    ...helpers(),
    `INSERT INTO users (id, email, full_name, role, preferences, created_at, last_login_at, is_active, bio)
     SELECT md5('user' || i)::uuid,
            translate(lower(pg_temp.first_name(i)), 'áàâäãåçéèêëíìîïñóòôöõúùûüýÿøæ ''-', 'aaaaaaceeeeiiiinooooouuuuyyoa')
              || CASE WHEN pg_temp.u(i * 64 + 5) < 0.6 THEN '.' ELSE '' END
              || translate(lower(pg_temp.last_name(i)), 'áàâäãåçéèêëíìîïñóòôöõúùûüýÿøæ ''-', 'aaaaaaceeeeiiiinooooouuuuyyoa') || i
              || '@' || pg_temp.skewed(${array(V.EMAIL_DOMAINS)}, i * 64 + 6),
            pg_temp.first_name(i) || ' ' || pg_temp.last_name(i),
            (CASE WHEN i % 500 = 0 THEN 'admin' WHEN i % 97 = 0 THEN 'staff' ELSE 'customer' END)::user_role,
            CASE WHEN pg_temp.u(i * 64 + 7) < 0.3 THEN NULL ELSE jsonb_build_object(
              'newsletter', pg_temp.u(i * 64 + 8) < 0.4, 'size', pg_temp.skewed(${array(V.SIZES)}, i * 64 + 9),
              'theme', CASE WHEN pg_temp.u(i * 64 + 10) < 0.7 THEN 'light' ELSE 'dark' END,
              'language', pg_temp.skewed(ARRAY['en', 'en', 'es', 'fr', 'de', 'pt', 'ja'], i * 64 + 11),
              'notifications', jsonb_build_object('email', pg_temp.u(i * 64 + 12) < 0.8, 'sms', pg_temp.u(i * 64 + 13) < 0.2, 'push', pg_temp.u(i * 64 + 14) < 0.5)) END,
            pg_temp.moment(i * 64 + 15),
            CASE WHEN pg_temp.u(i * 64 + 16) < 0.15 THEN NULL ELSE pg_temp.moment(i * 64 + 15) + floor(pg_temp.u(i * 64 + 17) * 17280000) * interval '1 second' END,
            pg_temp.u(i * 64 + 18) < 0.95,
            CASE WHEN pg_temp.u(i * 64 + 19) < 0.7 THEN NULL
                 WHEN pg_temp.u(i * 64 + 20) < 0.02 THEN pg_temp.prose(${array(V.BIO_SENTENCES)}, i * 64 + 21, 40 + floor(pg_temp.u(i * 64 + 22) * 60)::int)
                 ELSE pg_temp.prose(${array(V.BIO_SENTENCES)}, i * 64 + 21, 1 + floor(pg_temp.u(i * 64 + 22) * 3)::int) END
     FROM generate_series(1, ${n.users}::bigint) i`,
    // A customer is a user's shop profile: same name; k is the user behind it.
    `INSERT INTO customers (user_id, first_name, last_name, phone, shipping_address, lifetime_value, marketing_opt_in, created_at)
     SELECT md5('user' || k)::uuid, pg_temp.first_name(k), pg_temp.last_name(k),
            CASE WHEN pg_temp.u(i * 64 + 20) < 0.25 THEN NULL ELSE pg_temp.phone(i) END,
            CASE WHEN pg_temp.u(i * 64 + 21) < 0.05 THEN NULL ELSE pg_temp.address(i) END,
            round((pg_temp.u(i * 64 + 22) ^ 3 * 5000)::numeric, 2), pg_temp.u(i * 64 + 23) < 0.35, pg_temp.moment(i * 64 + 24)
     FROM generate_series(1, ${n.customers}::bigint) i, LATERAL (SELECT 1 + (i * 7) % ${n.users} AS k) u`,
    `INSERT INTO products (sku, name, description, price, category, tags, attributes, thumbnail, is_published, created_at, updated_at)
     SELECT 'LII-' || lpad(i::text, 6, '0'), pg_temp.product_name(i),
            CASE WHEN pg_temp.u(i * 64 + 20) < 0.05 THEN NULL
                 WHEN pg_temp.u(i * 64 + 21) < 0.03 THEN pg_temp.prose(${array(V.DESCRIPTION_SENTENCES)}, i * 64 + 22, 60 + floor(pg_temp.u(i * 64 + 23) * 80)::int)
                 ELSE pg_temp.prose(${array(V.DESCRIPTION_SENTENCES)}, i * 64 + 22, 3 + floor(pg_temp.u(i * 64 + 23) * 6)::int) END,
            pg_temp.price(i), pg_temp.skewed(${array(V.CATEGORIES)}, i * 64 + 24),
            ARRAY(SELECT pg_temp.skewed(${array(V.TAGS)}, i * 64 * 8 + t) FROM generate_series(1, floor(pg_temp.u(i * 64 + 25) * 4)::int) t),
            CASE WHEN pg_temp.u(i * 64 + 26) < 0.1 THEN NULL ELSE jsonb_build_object(
              'material', lower(pg_temp.pick(${array(V.MATERIALS)}, i * 64 + 2)), 'fit', pg_temp.skewed(${array(V.FITS)}, i * 64 + 27),
              'care', pg_temp.skewed(${array(V.CARE)}, i * 64 + 28), 'origin', pg_temp.skewed(${array(V.ORIGINS)}, i * 64 + 29),
              'weight_grams', 100 + floor(pg_temp.u(i * 64 + 30) * 1900)::int) END,
            CASE WHEN i % 2 = 0 THEN decode(md5('img' || i), 'hex') END,
            pg_temp.u(i * 64 + 31) < 0.9, pg_temp.moment(i * 64 + 32),
            CASE WHEN pg_temp.u(i * 64 + 33) < 0.5 THEN NULL ELSE pg_temp.moment(i * 64 + 32) + floor(pg_temp.u(i * 64 + 34) * 8640000) * interval '1 second' END
     FROM generate_series(1, ${n.products}::bigint) i`,
    `INSERT INTO product_variants (product_id, sku, size, color, price_delta, weight_grams)
     SELECT p, 'LII-' || lpad(p::text, 6, '0') || '-' || coalesce(pg_temp.size(i), 'OS') || '-' || upper(left(coalesce(pg_temp.color(i), 'nat'), 3)) || '-' || i,
            pg_temp.size(i), pg_temp.color(i), (ARRAY[0, 0, 0, 0, 0, 0, 5, 10, -5])[1 + floor(pg_temp.u(i * 64 + 5) * 9)::int], 100 + floor(pg_temp.u(i * 64 + 6) * 1900)::int
     FROM generate_series(1, ${n.product_variants}::bigint) i, LATERAL (SELECT 1 + (i - 1) % ${n.products} AS p) v`,
    `INSERT INTO inventory (variant_id, quantity, reserved, warehouse, restocked_at, updated_at)
     SELECT i, floor(pg_temp.u(i * 64 + 50) ^ 2 * 500)::int, CASE WHEN pg_temp.u(i * 64 + 51) < 0.8 THEN 0 ELSE 1 + floor(pg_temp.u(i * 64 + 52) * 6)::int END,
            pg_temp.skewed(${array(V.WAREHOUSES)}, i * 64 + 53), CASE WHEN pg_temp.u(i * 64 + 54) < 0.1 THEN NULL ELSE date '2024-01-01' + floor(pg_temp.u(i * 64 + 55) * 700)::int END,
            pg_temp.moment(i * 64 + 56)
     FROM generate_series(1, ${n.inventory}::bigint) i`,
    // Orders in time order; most ship to the customer's own address, some as gifts elsewhere.
    `INSERT INTO orders (customer_id, status, currency, subtotal, shipping, shipping_address, billing_address, placed_at, shipped_at, notes)
     SELECT c, s::order_status, pg_temp.skewed(ARRAY['USD', 'USD', 'EUR', 'GBP', 'CAD'], i * 64 + 2),
            (round(15 + pg_temp.u(i * 64 + 3) ^ 3 * 600) - 0.01)::numeric(12, 2), (ARRAY[0, 0, 4.99, 9.99, 14.99, 24.99])[1 + floor(pg_temp.u(i * 64 + 4) ^ 2 * 6)::int],
            jsonb_build_object('name', pg_temp.first_name(ck) || ' ' || pg_temp.last_name(ck), 'phone', pg_temp.phone(c))
              || pg_temp.address(CASE WHEN pg_temp.u(i * 64 + 5) < 0.9 THEN c ELSE 1000000000 + i END)
              || CASE WHEN pg_temp.u(i * 64 + 6) < 0.1 THEN jsonb_build_object('instructions', pg_temp.skewed(${array(V.ORDER_NOTES)}, i * 64 + 7)) ELSE '{}' END,
            CASE WHEN pg_temp.u(i * 64 + 8) < 0.33 THEN NULL ELSE jsonb_build_object('name', pg_temp.first_name(ck) || ' ' || pg_temp.last_name(ck)) || pg_temp.address(c) || jsonb_build_object(
              'payment', jsonb_build_object('method', m, 'brand', CASE WHEN m = 'card' THEN pg_temp.skewed(${array(V.PAYMENT_BRANDS)}, i * 64 + 9) END,
                'last4', CASE WHEN m = 'card' THEN lpad(floor(pg_temp.u(c * 64 + 30) * 10000)::int::text, 4, '0') END,
                'provider', CASE WHEN m = 'paypal' THEN 'paypal' WHEN m = 'klarna' THEN 'klarna' ELSE 'stripe' END,
                'status', CASE WHEN s = 'refunded' THEN 'refunded' WHEN s = 'pending' THEN 'authorized' ELSE 'captured' END,
                'three_d_secure', pg_temp.u(i * 64 + 10) < 0.6)) END,
            placed, CASE WHEN s IN ('shipped', 'delivered', 'refunded') THEN placed + (1 + floor(pg_temp.u(i * 64 + 11) * 5)) * interval '1 day' + floor(pg_temp.u(i * 64 + 12) * 36000) * interval '1 second' END,
            CASE WHEN pg_temp.u(i * 64 + 13) < 0.005 THEN pg_temp.prose(${array(V.ORDER_NOTES)}, i * 64 + 14, 20 + floor(pg_temp.u(i * 64 + 15) * 40)::int)
                 WHEN pg_temp.u(i * 64 + 13) < 0.12 THEN pg_temp.skewed(${array(V.ORDER_NOTES)}, i * 64 + 14) END
     FROM generate_series(1, ${n.orders}::bigint) i,
          LATERAL (SELECT 1 + floor(pg_temp.u(i * 64 + 1) ^ 1.5 * ${n.customers})::bigint AS c,
                          pg_temp.skewed(ARRAY['delivered', 'delivered', 'delivered', 'shipped', 'paid', 'pending', 'cancelled', 'refunded'], i * 64 + 16) AS s,
                          pg_temp.skewed(${array(V.PAYMENT_METHODS)}, i * 64 + 17) AS m,
                          timestamptz '2024-01-01 00:00:00+00' + i * (63072000.0 / ${n.orders}) * interval '1 second' + floor(pg_temp.u(i * 64 + 18) * 60000000) * interval '1 microsecond' AS placed) o,
          LATERAL (SELECT 1 + (c * 7) % ${n.users} AS ck) k`,
    // Line numbers fill every order once before any order gets its next line (the primary key stays unique).
    `INSERT INTO order_items (order_id, line_no, variant_id, product_name, quantity, unit_price)
     SELECT 1 + (i - 1) % ${n.orders}, 1 + (i - 1) / ${n.orders}, v,
            pg_temp.product_name(1 + (v - 1) % ${n.products}) || coalesce(' - ' || pg_temp.size(v), '') || coalesce(' / ' || pg_temp.color(v), ''),
            (ARRAY[1, 1, 1, 1, 1, 1, 2, 2, 3, 4])[1 + floor(pg_temp.u(i * 64 + 41) * 10)::int], pg_temp.price(1 + (v - 1) % ${n.products})
     FROM generate_series(1, ${n.order_items}::bigint) i, LATERAL (SELECT 1 + floor(pg_temp.u(i * 64 + 42) ^ 2 * ${n.product_variants})::bigint AS v) x`,
    `INSERT INTO reviews (product_id, user_id, rating, title, body, created_at)
     SELECT 1 + floor(pg_temp.u(i * 64 + 1) ^ 2 * ${n.products})::bigint, md5('user' || (1 + floor(pg_temp.u(i * 64 + 2) * ${n.users})::bigint))::uuid,
            (ARRAY[5, 5, 5, 5, 4, 4, 4, 3, 2, 1])[1 + floor(pg_temp.u(i * 64 + 3) * 10)::int],
            CASE WHEN pg_temp.u(i * 64 + 4) < 0.2 THEN NULL ELSE pg_temp.skewed(${array(V.REVIEW_TITLES)}, i * 64 + 5) END,
            CASE WHEN pg_temp.u(i * 64 + 6) < 0.1 THEN NULL
                 WHEN pg_temp.u(i * 64 + 7) < 0.02 THEN pg_temp.prose(${array(V.REVIEW_SENTENCES)}, i * 64 + 8, 30 + floor(pg_temp.u(i * 64 + 9) * 60)::int)
                 ELSE pg_temp.prose(${array(V.REVIEW_SENTENCES)}, i * 64 + 8, 1 + floor(pg_temp.u(i * 64 + 9) ^ 2 * 6)::int) END,
            pg_temp.moment(i * 64 + 10)
     FROM generate_series(1, ${n.reviews}::bigint) i`,
    `INSERT INTO wishlists (user_id, product_id, added_at)
     SELECT md5('user' || (1 + (i - 1) % ${n.users}))::uuid, 1 + floor(pg_temp.u(i * 64 + 1) ^ 2 * ${n.products})::bigint, pg_temp.moment(i * 64 + 2)
     FROM generate_series(1, ${n.wishlists}::bigint) i
     ON CONFLICT DO NOTHING`,
    'ANALYZE',
  ];
}
