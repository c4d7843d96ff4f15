//! A deterministic point-of-sale database of a chosen size: the demo shop's 32 tables, with
//! most rows in the log and transaction tables (audit log, sync queue, sales, sale items,
//! payments), indexes and foreign keys.

use std::path::Path;

use rusqlite::Connection;

/// Builds `path` at roughly `bytes` bytes. The same size always gives the same rows.
pub fn generate(path: &Path, bytes: u64) -> rusqlite::Result<()> {
    let _ = std::fs::remove_file(path);
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;")?;
    conn.execute_batch(cutover::engine::demo::DEMO_SQL)?;
    // Shares of the target size, by bytes per row measured on this schema.
    // Calibrated: the raw estimate made files about 0.68 of the target.
    let scale = |share: f64, row_bytes: f64| ((bytes as f64 * 1.47 * share) / row_bytes).max(10.0) as u64;
    let audit = scale(0.30, 190.0);
    let sync = scale(0.15, 200.0);
    let sales = scale(0.15, 120.0);
    let items = scale(0.20, 70.0);
    let payments = scale(0.20, 75.0);
    let drop_trigger = "DROP TRIGGER IF EXISTS trg_sale_items_stock;";
    conn.execute_batch(drop_trigger)?;
    let batch = |sql: String| conn.execute_batch(&sql);
    batch(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {audit})
         INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail)
         SELECT datetime(1735689600 + i * 7, 'unixepoch'), 1 + i % 7,
                CASE i % 5 WHEN 0 THEN 'sale.complete' WHEN 1 THEN 'drawer.open' WHEN 2 THEN 'login'
                           WHEN 3 THEN 'price.override' ELSE 'inventory.adjust' END,
                'sales', i % 100000, printf('{{\"terminal\": %d, \"ref\": \"%08x\", \"note\": \"shift %d\"}}', i % 4, (i * 2654435761) % 4294967296, i % 3)
         FROM n;"
    ))?;
    batch(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {sync})
         INSERT INTO sync_queue (entity, entity_id, op, payload, queued_at, attempts)
         SELECT 'sales', i, 'insert', printf('{{\"id\": %d, \"rev\": %d, \"total\": %d, \"store\": %d, \"hash\": \"%016x\"}}', i, i % 9, (i * 7919) % 100000, 1 + i % 2, i * 11400714819323198485),
                datetime(1735689600 + i * 11, 'unixepoch'), i % 3
         FROM n;"
    ))?;
    batch(format!(
        "WITH RECURSIVE n(i) AS (SELECT 2001 UNION ALL SELECT i + 1 FROM n WHERE i < 2000 + {sales})
         INSERT INTO sales (id, store_id, station_id, user_id, customer_id, sold_at, subtotal_cents, tax_cents, total_cents, status)
         SELECT i, 1 + i % 2, 1 + i % 4, 2 + i % 3, CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % 300 END,
                datetime(1735689600 + i * 13, 'unixepoch'), (i * 7919) % 50000, (i * 7919) % 50000 * 825 / 10000,
                (i * 7919) % 50000 * 10825 / 10000, 'completed'
         FROM n;"
    ))?;
    batch(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {items})
         INSERT INTO sale_items (sale_id, product_id, qty, unit_price_cents, discount_cents)
         SELECT 2001 + i % {sales}, 1 + i % 400, 1 + i % 3, 300 + (i * 7919) % 9000, CASE WHEN i % 11 = 0 THEN 150 ELSE 0 END
         FROM n;"
    ))?;
    batch(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {payments})
         INSERT INTO payments (sale_id, method, amount_cents, reference, paid_at)
         SELECT 2001 + i % {sales}, CASE i % 5 WHEN 0 THEN 'cash' WHEN 4 THEN 'gift_card' ELSE 'card' END,
                (i * 7919) % 60000, printf('AUTH%06d', (i * 48271) % 1000000), datetime(1735689600 + i * 13, 'unixepoch')
         FROM n;"
    ))?;
    conn.execute_batch(
        "CREATE TRIGGER trg_sale_items_stock AFTER INSERT ON sale_items BEGIN
             UPDATE inventory_levels SET on_hand = on_hand - NEW.qty WHERE product_id = NEW.product_id;
         END;
         PRAGMA journal_mode = WAL;",
    )?;
    conn.close().map_err(|(_, e)| e)
}
