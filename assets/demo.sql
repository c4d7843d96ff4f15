-- Harbor Auto Parts: the demo point-of-sale database cutover ships.
-- One shop (tenant 'harbor-auto'), two stores, an auto-parts catalogue with vehicle fitment,
-- sales, layaways, work orders, gift cards, an offline sync queue and an audit log.
-- Rows are generated deterministically, so every demo database is byte-for-byte alike in content.

PRAGMA foreign_keys = ON;

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE _migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    applied_at  TEXT NOT NULL
);

CREATE TABLE tax_rates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    rate_bp     INTEGER NOT NULL CHECK (rate_bp BETWEEN 0 AND 5000)
);

CREATE TABLE stores (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL,
    city        TEXT NOT NULL,
    phone       TEXT,
    tax_rate_id INTEGER NOT NULL REFERENCES tax_rates(id)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier', 'technician')),
    pin_hash      TEXT NOT NULL,
    store_id      INTEGER REFERENCES stores(id),
    active        INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE stations (
    id        INTEGER PRIMARY KEY,
    store_id  INTEGER NOT NULL REFERENCES stores(id),
    name      TEXT NOT NULL,
    printer   TEXT,
    UNIQUE (store_id, name)
);

CREATE TABLE cash_drawers (
    id             INTEGER PRIMARY KEY,
    station_id     INTEGER NOT NULL REFERENCES stations(id),
    opened_by      INTEGER NOT NULL REFERENCES users(id),
    opened_at      TEXT NOT NULL,
    float_cents    INTEGER NOT NULL,
    closed_at      TEXT,
    counted_cents  INTEGER
);

CREATE TABLE shifts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    station_id  INTEGER REFERENCES stations(id),
    clock_in    TEXT NOT NULL,
    clock_out   TEXT
);

CREATE TABLE vendors (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    phone       TEXT,
    account_no  TEXT
);

CREATE TABLE categories (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    parent_id  INTEGER REFERENCES categories(id)
);

CREATE TABLE products (
    id           INTEGER PRIMARY KEY,
    sku          TEXT NOT NULL UNIQUE,
    upc          TEXT,
    name         TEXT NOT NULL,
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    vendor_id    INTEGER NOT NULL REFERENCES vendors(id),
    cost_cents   INTEGER NOT NULL,
    price_cents  INTEGER NOT NULL,
    taxable      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL
);
CREATE INDEX idx_products_category ON products(category_id);
CREATE INDEX idx_products_upc ON products(upc);

CREATE TABLE inventory_levels (
    product_id     INTEGER NOT NULL REFERENCES products(id),
    store_id       INTEGER NOT NULL REFERENCES stores(id),
    on_hand        INTEGER NOT NULL,
    reorder_point  INTEGER NOT NULL DEFAULT 2,
    PRIMARY KEY (product_id, store_id)
) WITHOUT ROWID;

CREATE TABLE price_rules (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    category_id  INTEGER REFERENCES categories(id),
    percent_off  INTEGER NOT NULL,
    starts_on    TEXT NOT NULL,
    ends_on      TEXT
) STRICT;

CREATE TABLE vehicle_makes (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE vehicle_models (
    id       INTEGER PRIMARY KEY,
    make_id  INTEGER NOT NULL REFERENCES vehicle_makes(id),
    name     TEXT NOT NULL,
    UNIQUE (make_id, name)
);

CREATE TABLE vehicle_fitment (
    product_id  INTEGER NOT NULL REFERENCES products(id),
    model_id    INTEGER NOT NULL REFERENCES vehicle_models(id),
    year_from   INTEGER NOT NULL,
    year_to     INTEGER NOT NULL,
    engine      TEXT,
    notes       TEXT,
    PRIMARY KEY (product_id, model_id, year_from)
);
CREATE INDEX idx_fitment_model ON vehicle_fitment(model_id, year_from);

CREATE TABLE customers (
    id              INTEGER PRIMARY KEY,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    phone           TEXT,
    email           TEXT UNIQUE,
    loyalty_points  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX idx_customers_phone ON customers(phone);

CREATE TABLE customer_vehicles (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    model_id     INTEGER NOT NULL REFERENCES vehicle_models(id),
    year         INTEGER NOT NULL,
    vin          TEXT UNIQUE,
    plate        TEXT,
    odometer     INTEGER
);

CREATE TABLE maintenance_schedules (
    id               INTEGER PRIMARY KEY,
    model_id         INTEGER NOT NULL REFERENCES vehicle_models(id),
    service          TEXT NOT NULL,
    interval_miles   INTEGER,
    interval_months  INTEGER
);

CREATE TABLE sales (
    id              INTEGER PRIMARY KEY,
    store_id        INTEGER NOT NULL REFERENCES stores(id),
    station_id      INTEGER NOT NULL REFERENCES stations(id),
    user_id         INTEGER NOT NULL REFERENCES users(id),
    customer_id     INTEGER REFERENCES customers(id),
    sold_at         TEXT NOT NULL,
    subtotal_cents  INTEGER NOT NULL,
    tax_cents       INTEGER NOT NULL,
    total_cents     INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'completed'
);
CREATE INDEX idx_sales_sold_at ON sales(sold_at);

CREATE TABLE sale_items (
    id                INTEGER PRIMARY KEY,
    sale_id           INTEGER NOT NULL REFERENCES sales(id) ON DELETE CASCADE,
    product_id        INTEGER NOT NULL REFERENCES products(id),
    qty               INTEGER NOT NULL CHECK (qty > 0),
    unit_price_cents  INTEGER NOT NULL,
    discount_cents    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_sale_items_sale ON sale_items(sale_id);

CREATE TABLE payments (
    id            INTEGER PRIMARY KEY,
    sale_id       INTEGER NOT NULL REFERENCES sales(id) ON DELETE CASCADE,
    method        TEXT NOT NULL CHECK (method IN ('cash', 'card', 'gift_card', 'account')),
    amount_cents  INTEGER NOT NULL,
    reference     TEXT,
    paid_at       TEXT NOT NULL
);

CREATE TABLE layaways (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    store_id     INTEGER NOT NULL REFERENCES stores(id),
    created_at   TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    total_cents  INTEGER NOT NULL
);

CREATE TABLE layaway_items (
    id           INTEGER PRIMARY KEY,
    layaway_id   INTEGER NOT NULL REFERENCES layaways(id) ON DELETE CASCADE,
    product_id   INTEGER NOT NULL REFERENCES products(id),
    qty          INTEGER NOT NULL,
    price_cents  INTEGER NOT NULL
);

CREATE TABLE layaway_payments (
    id            INTEGER PRIMARY KEY,
    layaway_id    INTEGER NOT NULL REFERENCES layaways(id) ON DELETE CASCADE,
    amount_cents  INTEGER NOT NULL,
    paid_at       TEXT NOT NULL,
    user_id       INTEGER NOT NULL REFERENCES users(id)
);

CREATE TABLE work_orders (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    vehicle_id     INTEGER REFERENCES customer_vehicles(id),
    store_id       INTEGER NOT NULL REFERENCES stores(id),
    technician_id  INTEGER REFERENCES users(id),
    status         TEXT NOT NULL DEFAULT 'open',
    opened_at      TEXT NOT NULL,
    closed_at      TEXT,
    complaint      TEXT,
    labor_cents    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE work_order_items (
    id             INTEGER PRIMARY KEY,
    work_order_id  INTEGER NOT NULL REFERENCES work_orders(id) ON DELETE CASCADE,
    product_id     INTEGER REFERENCES products(id),
    description    TEXT NOT NULL,
    qty            INTEGER NOT NULL DEFAULT 1,
    price_cents    INTEGER NOT NULL
);

CREATE TABLE gift_cards (
    id             INTEGER PRIMARY KEY,
    card_number    TEXT NOT NULL UNIQUE,
    issued_at      TEXT NOT NULL,
    initial_cents  INTEGER NOT NULL,
    balance_cents  INTEGER NOT NULL,
    customer_id    INTEGER REFERENCES customers(id),
    status         TEXT NOT NULL DEFAULT 'active'
);

CREATE TABLE gift_card_transactions (
    id            INTEGER PRIMARY KEY,
    gift_card_id  INTEGER NOT NULL REFERENCES gift_cards(id),
    sale_id       INTEGER REFERENCES sales(id),
    amount_cents  INTEGER NOT NULL,
    at            TEXT NOT NULL
);

CREATE TABLE sync_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entity      TEXT NOT NULL,
    entity_id   INTEGER NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    payload     TEXT NOT NULL,
    queued_at   TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    user_id    INTEGER REFERENCES users(id),
    action     TEXT NOT NULL,
    entity     TEXT NOT NULL,
    entity_id  INTEGER,
    detail     TEXT
);
CREATE INDEX idx_audit_log_at ON audit_log(at);

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

-- Reference rows -----------------------------------------------------------------------------

INSERT INTO tenants VALUES ('harbor-auto', 'Harbor Auto Parts', '2019-03-04 09:00:00');

INSERT INTO _migrations VALUES
    (1, 'initial schema', '2019-03-04 09:00:00'),
    (2, 'vehicle fitment', '2019-11-18 21:40:12'),
    (3, 'layaways', '2020-06-02 22:05:31'),
    (4, 'gift cards', '2021-02-15 20:12:09'),
    (5, 'work orders', '2022-08-30 19:55:47'),
    (6, 'offline sync queue', '2024-04-09 21:30:00');

INSERT INTO tax_rates VALUES (1, 'County sales tax', 825), (2, 'Tax exempt', 0);

INSERT INTO stores VALUES
    (1, 'HBR-01', 'Harbor Auto Parts — Dockside', '14 Wharf Road', 'Port Alder', '555-0141', 1),
    (2, 'HBR-02', 'Harbor Auto Parts — Hillcrest', '882 Ridge Avenue', 'Port Alder', '555-0187', 1);

INSERT INTO users (id, username, display_name, role, pin_hash, store_id, active) VALUES
    (1, 'maria', 'Maria Okafor', 'owner', 'pbkdf2$9f2c1e', NULL, 1),
    (2, 'deshawn', 'DeShawn Price', 'manager', 'pbkdf2$1b7d44', 1, 1),
    (3, 'li.wei', 'Li Wei', 'cashier', 'pbkdf2$77a0c3', 1, 1),
    (4, 'ana', 'Ana Lucía Ortega', 'cashier', 'pbkdf2$c4e9d1', 2, 1),
    (5, 'tomasz', 'Tomasz Nowak', 'technician', 'pbkdf2$02f6ab', 1, 1),
    (6, 'kev', 'Kevin O''Brien', 'technician', 'pbkdf2$5e81f0', 2, 1),
    (7, 'priya', 'Priya Raman', 'cashier', 'pbkdf2$aa13c7', 2, 0);

INSERT INTO stations VALUES
    (1, 1, 'Front counter', 'Epson TM-T88VI'),
    (2, 1, 'Service desk', 'Epson TM-T20III'),
    (3, 2, 'Front counter', 'Star TSP143'),
    (4, 2, 'Drive-up window', NULL);

INSERT INTO vendors VALUES
    (1, 'Northline Distribution', '555-0400', 'NL-88213'),
    (2, 'Keystone Parts Supply', '555-0455', 'KPS-1190'),
    (3, 'Pacific Filter Co.', '555-0512', 'PFC-3320'),
    (4, 'Volt & Spark Electrical', '555-0566', 'VSE-0071');

INSERT INTO categories VALUES
    (1, 'Engine', NULL), (2, 'Brakes', NULL), (3, 'Electrical', NULL), (4, 'Fluids', NULL),
    (5, 'Filters', 1), (6, 'Ignition', 1), (7, 'Pads & shoes', 2), (8, 'Rotors', 2),
    (9, 'Batteries', 3), (10, 'Lighting', 3), (11, 'Motor oil', 4), (12, 'Coolant', 4);

INSERT INTO price_rules VALUES
    (1, 'Spring brake event', 2, 15, '2026-03-01', '2026-03-31'),
    (2, 'Oil change season', 11, 10, '2026-05-01', '2026-06-15'),
    (3, 'Battery trade-in', 9, 5, '2026-01-01', NULL);

INSERT INTO vehicle_makes VALUES
    (1, 'Ford'), (2, 'Toyota'), (3, 'Honda'), (4, 'Chevrolet'), (5, 'Nissan'), (6, 'Subaru');

INSERT INTO vehicle_models (id, make_id, name) VALUES
    (1, 1, 'F-150'), (2, 1, 'Escape'), (3, 1, 'Focus'), (4, 2, 'Camry'), (5, 2, 'Corolla'),
    (6, 2, 'Tacoma'), (7, 3, 'Civic'), (8, 3, 'Accord'), (9, 3, 'CR-V'), (10, 4, 'Silverado'),
    (11, 4, 'Malibu'), (12, 5, 'Altima'), (13, 5, 'Frontier'), (14, 6, 'Outback'), (15, 6, 'Forester');

INSERT INTO settings VALUES
    ('receipt.footer', 'Thank you for shopping at Harbor Auto Parts!'),
    ('sync.endpoint', 'https://sync.harbor-auto.example/v2'),
    ('sync.interval_s', '300'),
    ('loyalty.points_per_dollar', '1'),
    ('layaway.min_deposit_pct', '20');

-- Generated rows -----------------------------------------------------------------------------

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO products (id, sku, upc, name, category_id, vendor_id, cost_cents, price_cents, taxable, created_at)
SELECT i,
       printf('%s-%05d', substr('ENGBRKELCFLD', ((i % 4) * 3) + 1, 3), i * 7),
       printf('0%011d', 70000000000 + i * 9173),
       CASE i % 8
           WHEN 0 THEN 'Oil filter'        WHEN 1 THEN 'Ceramic brake pads'
           WHEN 2 THEN 'Spark plug (iridium)' WHEN 3 THEN 'Synthetic 5W-30, 5 qt'
           WHEN 4 THEN 'Brake rotor'       WHEN 5 THEN 'AGM battery'
           WHEN 6 THEN 'Headlight bulb H11' ELSE 'Coolant 50/50, 1 gal' END
           || printf(' #%d', i),
       CASE i % 8 WHEN 0 THEN 5 WHEN 1 THEN 7 WHEN 2 THEN 6 WHEN 3 THEN 11
                  WHEN 4 THEN 8 WHEN 5 THEN 9 WHEN 6 THEN 10 ELSE 12 END,
       (i % 4) + 1,
       300 + (i * 7919) % 9000,
       (300 + (i * 7919) % 9000) * 17 / 10,
       CASE WHEN i % 23 = 0 THEN 0 ELSE 1 END,
       datetime('2019-03-04', printf('+%d hours', i * 41))
FROM n;

INSERT INTO inventory_levels (product_id, store_id, on_hand, reorder_point)
SELECT p.id, s.id, 40 + (p.id * 13 + s.id * 7) % 60, 2 + p.id % 5 FROM products p CROSS JOIN stores s;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900)
INSERT OR IGNORE INTO vehicle_fitment (product_id, model_id, year_from, year_to, engine, notes)
SELECT 1 + (i * 37) % 400, 1 + (i * 11) % 15, 2005 + i % 15, 2005 + i % 15 + 3 + i % 6,
       CASE i % 4 WHEN 0 THEN '2.5L I4' WHEN 1 THEN '3.5L V6' WHEN 2 THEN '5.0L V8' ELSE NULL END,
       CASE WHEN i % 9 = 0 THEN 'Check VIN: mid-year change' ELSE NULL END
FROM n;

INSERT INTO maintenance_schedules (model_id, service, interval_miles, interval_months)
SELECT m.id, s.service, s.miles, s.months
FROM vehicle_models m
CROSS JOIN (SELECT 'Oil and filter change' AS service, 5000 AS miles, 6 AS months
            UNION ALL SELECT 'Tire rotation', 7500, NULL
            UNION ALL SELECT 'Brake inspection', 15000, 12
            UNION ALL SELECT 'Coolant flush', 60000, 60) s;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
INSERT INTO customers (id, first_name, last_name, phone, email, loyalty_points, created_at)
SELECT i,
       CASE i % 10 WHEN 0 THEN 'James' WHEN 1 THEN 'Fatima' WHEN 2 THEN 'Diego' WHEN 3 THEN 'Hannah'
                   WHEN 4 THEN 'Kwame' WHEN 5 THEN 'Sofia' WHEN 6 THEN 'Ravi' WHEN 7 THEN 'Zoë'
                   WHEN 8 THEN 'Connor' ELSE 'Mei' END,
       CASE (i / 10) % 10 WHEN 0 THEN 'Smith' WHEN 1 THEN 'García' WHEN 2 THEN 'Nguyen' WHEN 3 THEN 'Johnson'
                          WHEN 4 THEN 'Mensah' WHEN 5 THEN 'Rossi' WHEN 6 THEN 'Patel' WHEN 7 THEN 'Müller'
                          WHEN 8 THEN 'O''Neill' ELSE 'Chen' END,
       printf('555-%04d', 1000 + (i * 37) % 9000),
       CASE WHEN i % 6 = 0 THEN NULL ELSE printf('customer%d@mail.example', i) END,
       (i * 53) % 1200,
       datetime('2019-04-01', printf('+%d hours', i * 97))
FROM n;

INSERT INTO customer_vehicles (customer_id, model_id, year, vin, plate, odometer)
SELECT id, 1 + (id * 7) % 15, 2006 + id % 18, printf('1HGCM%012d', id * 104729),
       printf('%s-%03d', substr('ABCDEFGHJKLMNPRSTUVWXYZ', 1 + id % 23, 3), id), 20000 + (id * 3571) % 180000
FROM customers WHERE id % 5 <> 0;

INSERT INTO cash_drawers (station_id, opened_by, opened_at, float_cents, closed_at, counted_cents)
SELECT 1 + i % 4, CASE WHEN i % 4 < 2 THEN 3 ELSE 4 END,
       datetime('2026-01-02 08:00:00', printf('+%d days', i / 4)), 20000,
       datetime('2026-01-02 18:05:00', printf('+%d days', i / 4)), 20000 + (i * 7717) % 250000
FROM (WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 239) SELECT i FROM n);

INSERT INTO shifts (user_id, station_id, clock_in, clock_out)
SELECT 2 + i % 5, CASE WHEN i % 5 IN (3, 4) THEN NULL ELSE 1 + i % 4 END,
       datetime('2026-01-02 07:45:00', printf('+%d days', i / 5)),
       datetime('2026-01-02 16:15:00', printf('+%d days', i / 5), printf('+%d minutes', i % 40))
FROM (WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299) SELECT i FROM n);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
INSERT INTO sales (id, store_id, station_id, user_id, customer_id, sold_at, subtotal_cents, tax_cents, total_cents, status)
SELECT i, 1 + i % 2, CASE WHEN i % 2 = 1 THEN 1 + (i / 2) % 2 ELSE 3 + (i / 2) % 2 END,
       CASE WHEN i % 2 = 1 THEN 2 + (i / 2) % 2 ELSE 4 END,
       CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + (i * 31) % 300 END,
       datetime('2026-01-02 08:30:00', printf('+%d minutes', i * 119)),
       0, 0, 0, CASE WHEN i % 97 = 0 THEN 'voided' ELSE 'completed' END
FROM n;

-- The stock trigger below is created after the bulk load: history predates it.
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5200)
INSERT INTO sale_items (sale_id, product_id, qty, unit_price_cents, discount_cents)
SELECT 1 + (i * 13) % 2000, 1 + (i * 7) % 400, 1 + i % 3,
       (SELECT price_cents FROM products WHERE id = 1 + (i * 7) % 400),
       CASE WHEN i % 11 = 0 THEN 150 ELSE 0 END
FROM n;

UPDATE sales SET
    subtotal_cents = (SELECT coalesce(sum(qty * unit_price_cents - discount_cents), 0) FROM sale_items WHERE sale_id = sales.id),
    tax_cents = (SELECT coalesce(sum(qty * unit_price_cents - discount_cents), 0) FROM sale_items WHERE sale_id = sales.id) * 825 / 10000;
UPDATE sales SET total_cents = subtotal_cents + tax_cents;

INSERT INTO payments (sale_id, method, amount_cents, reference, paid_at)
SELECT id, CASE id % 5 WHEN 0 THEN 'cash' WHEN 4 THEN 'gift_card' ELSE 'card' END, total_cents,
       CASE WHEN id % 5 IN (1, 2, 3) THEN printf('AUTH%06d', (id * 48271) % 1000000) ELSE NULL END,
       sold_at
FROM sales WHERE status = 'completed' AND total_cents > 0;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60)
INSERT INTO layaways (id, customer_id, store_id, created_at, due_on, status, total_cents)
SELECT i, 1 + (i * 17) % 300, 1 + i % 2, datetime('2026-02-01 10:00:00', printf('+%d days', i * 3)),
       date('2026-02-01', printf('+%d days', i * 3 + 60)),
       CASE WHEN i % 4 = 0 THEN 'completed' WHEN i % 9 = 0 THEN 'cancelled' ELSE 'open' END, 0
FROM n;

INSERT INTO layaway_items (layaway_id, product_id, qty, price_cents)
SELECT l.id, 1 + (l.id * k.k * 29) % 400, 1, (SELECT price_cents FROM products WHERE id = 1 + (l.id * k.k * 29) % 400)
FROM layaways l CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) k
WHERE k.k <= 1 + l.id % 3;

UPDATE layaways SET total_cents = (SELECT sum(qty * price_cents) FROM layaway_items WHERE layaway_id = layaways.id);

INSERT INTO layaway_payments (layaway_id, amount_cents, paid_at, user_id)
SELECT l.id, l.total_cents / 4, datetime(l.created_at, printf('+%d days', (k.k - 1) * 14)), 3 + l.id % 2
FROM layaways l CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
WHERE k.k <= CASE l.status WHEN 'completed' THEN 4 ELSE 1 + l.id % 3 END;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 180)
INSERT INTO work_orders (id, number, customer_id, vehicle_id, store_id, technician_id, status, opened_at, closed_at, complaint, labor_cents)
SELECT i, printf('WO-26-%04d', i), cv.customer_id, cv.id, 1 + i % 2, 5 + i % 2,
       CASE WHEN i > 170 THEN 'open' WHEN i % 13 = 0 THEN 'waiting_parts' ELSE 'closed' END,
       datetime('2026-01-05 08:00:00', printf('+%d hours', i * 41)),
       CASE WHEN i > 170 OR i % 13 = 0 THEN NULL ELSE datetime('2026-01-05 08:00:00', printf('+%d hours', i * 41 + 6)) END,
       CASE i % 6 WHEN 0 THEN 'Grinding noise when braking' WHEN 1 THEN 'Check engine light on'
                  WHEN 2 THEN 'No start in cold weather' WHEN 3 THEN 'Oil change and inspection'
                  WHEN 4 THEN 'Headlight out, driver side' ELSE 'Overheating in traffic' END,
       (1 + i % 5) * 4500
FROM n JOIN customer_vehicles cv ON cv.id = 1 + (i * 7) % 240;

INSERT INTO work_order_items (work_order_id, product_id, description, qty, price_cents)
SELECT w.id, 1 + (w.id * 19) % 400, (SELECT name FROM products WHERE id = 1 + (w.id * 19) % 400), 1 + w.id % 2,
       (SELECT price_cents FROM products WHERE id = 1 + (w.id * 19) % 400)
FROM work_orders w;
INSERT INTO work_order_items (work_order_id, product_id, description, qty, price_cents)
SELECT id, NULL, 'Shop supplies', 1, 495 FROM work_orders WHERE status = 'closed';

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
INSERT INTO gift_cards (id, card_number, issued_at, initial_cents, balance_cents, customer_id, status)
SELECT i, printf('6035 %04d %04d %04d', 1000 + i % 9000, (i * 7321) % 10000, (i * 104723) % 10000),
       datetime('2025-11-20 12:00:00', printf('+%d hours', i * 53)),
       CASE i % 4 WHEN 0 THEN 2500 WHEN 1 THEN 5000 WHEN 2 THEN 10000 ELSE 2000 END, 0,
       CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + (i * 41) % 300 END, 'active'
FROM n;

INSERT INTO gift_card_transactions (gift_card_id, sale_id, amount_cents, at)
SELECT id, NULL, initial_cents, issued_at FROM gift_cards;
INSERT INTO gift_card_transactions (gift_card_id, sale_id, amount_cents, at)
SELECT g.id, s.id, -min(g.initial_cents * (1 + g.id % 4) / 4, s.total_cents), s.sold_at
FROM gift_cards g JOIN sales s ON s.id = g.id * 15 WHERE s.total_cents > 0;

UPDATE gift_cards SET balance_cents = (SELECT sum(amount_cents) FROM gift_card_transactions WHERE gift_card_id = gift_cards.id);
UPDATE gift_cards SET status = 'spent' WHERE balance_cents = 0;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250)
INSERT INTO sync_queue (entity, entity_id, op, payload, queued_at, attempts, last_error)
SELECT CASE i % 4 WHEN 0 THEN 'sales' WHEN 1 THEN 'customers' WHEN 2 THEN 'inventory_levels' ELSE 'work_orders' END,
       1 + (i * 17) % 180, CASE WHEN i % 10 = 0 THEN 'update' ELSE 'insert' END,
       json_object('id', 1 + (i * 17) % 180, 'rev', i, 'store', 1 + i % 2),
       datetime('2026-10-01 09:00:00', printf('+%d minutes', i * 23)),
       i % 4, CASE WHEN i % 4 = 3 THEN 'timeout contacting sync endpoint' ELSE NULL END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3500)
INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail)
SELECT datetime('2026-01-02 08:00:00', printf('+%d minutes', i * 71)), 1 + i % 7,
       CASE i % 7 WHEN 0 THEN 'login' WHEN 1 THEN 'sale.complete' WHEN 2 THEN 'sale.void'
                  WHEN 3 THEN 'drawer.open' WHEN 4 THEN 'price.override' WHEN 5 THEN 'customer.edit'
                  ELSE 'inventory.adjust' END,
       CASE i % 7 WHEN 0 THEN 'users' WHEN 1 THEN 'sales' WHEN 2 THEN 'sales' WHEN 3 THEN 'cash_drawers'
                  WHEN 4 THEN 'sale_items' WHEN 5 THEN 'customers' ELSE 'inventory_levels' END,
       1 + (i * 13) % 2000,
       CASE WHEN i % 7 = 4 THEN printf('{"from": %d, "to": %d}', 1999 + i % 500, 1799 + i % 500) ELSE NULL END
FROM n;

-- Schema objects that depend on the rows above ------------------------------------------------

CREATE VIEW v_daily_sales AS
SELECT date(s.sold_at) AS day, st.code AS store, count(*) AS tickets, sum(s.total_cents) AS total_cents
FROM sales s JOIN stores st ON st.id = s.store_id
WHERE s.status = 'completed'
GROUP BY date(s.sold_at), st.code;

CREATE TRIGGER trg_sale_items_stock AFTER INSERT ON sale_items
BEGIN
    UPDATE inventory_levels SET on_hand = on_hand - NEW.qty
    WHERE product_id = NEW.product_id
      AND store_id = (SELECT store_id FROM sales WHERE id = NEW.sale_id);
END;

ANALYZE;
