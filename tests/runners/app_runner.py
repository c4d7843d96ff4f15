#!/usr/bin/env python3
"""The start-up of a shop application, as each migration runner does it on SQLite.

    app_runner.py KIND DB DIR

Creates the runner's ledger when it is not there, refuses to start where the runner refuses
(a recorded migration whose file changed, one recorded but failed, one missing or out of
order), applies every pending migration and writes its ledger row as the runner writes it,
then prints "started: applied N" and exits 0; on a refusal or a failing statement it prints
what the runner says and exits 1.

Written from each runner's own source (sqlx-sqlite migrate.rs and sqlx-core migrator.rs,
refinery_core runner.rs and traits, diesel_migrations, goose's sqlparser and
internal/dialects/sqlite3.go, dbmate pkg/dbmate, Flyway's SQLiteDatabase and
ChecksumCalculator, prisma-engines' sqlite flavour), independently of cutover's engine: the
tests use it to prove the rows cutover writes are rows the runner accepts.
"""
import datetime
import glob
import hashlib
import os
import re
import sqlite3
import sys
import uuid
import zlib


class Refused(Exception):
    pass


def statements(sql):
    """One statement at a time, cut where SQLite says a statement is complete."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current)
            current = ""
    if current.strip() and not all(l.strip().startswith("--") or not l.strip() for l in current.splitlines()):
        out.append(current)
    return out


def siphash13(data, k0=0, k1=0):
    mask = (1 << 64) - 1

    def rotl(x, b):
        return ((x << b) | (x >> (64 - b))) & mask

    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D, k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def sipround():
        v[0] = (v[0] + v[1]) & mask; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & mask; v[3] = rotl(v[3], 16); v[3] ^= v[2]
        v[0] = (v[0] + v[3]) & mask; v[3] = rotl(v[3], 21); v[3] ^= v[0]
        v[2] = (v[2] + v[1]) & mask; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32)

    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v[3] ^= m; sipround(); v[0] ^= m
    last = int.from_bytes(data[end:], "little") | ((n & 0xFF) << 56)
    v[3] ^= last; sipround(); v[0] ^= last
    v[2] ^= 0xFF
    for _ in range(3):
        sipround()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def refinery_checksum(name, version, sql):
    # Hash for str: its bytes then 0xFF; for i32: four little-endian bytes.
    data = name.encode() + b"\xff" + version.to_bytes(4, "little", signed=True) + sql.encode() + b"\xff"
    return siphash13(data)


def flyway_checksum(text):
    text = text[1:] if text.startswith("\ufeff") else text
    crc = 0
    for line in re.split(r"\r\n|\r|\n", text):
        crc = zlib.crc32(line.encode(), crc)
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def section(text, up, down):
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if re.match(up, l, re.I)), None)
    if start is None:
        raise Refused("no up section")
    rest = lines[start + 1:]
    stop = next((i for i, l in enumerate(rest) if re.match(down, l, re.I)), len(rest))
    return "".join(rest[:stop])


def now_sql():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def run_in_tx(db, sql, *rows):
    db.execute("BEGIN")
    try:
        for s in statements(sql):
            db.execute(s)
        for q, args in rows:
            db.execute(q, args)
        db.execute("COMMIT")
    except sqlite3.Error as e:
        db.execute("ROLLBACK")
        raise Refused(str(e))


def names(db, folder):
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (id INTEGER PRIMARY KEY, name TEXT UNIQUE, applied_at TEXT)")
    done = {r[0] for r in db.execute("SELECT name FROM _migrations")}
    applied = 0
    prefix = os.path.basename(os.path.normpath(folder)) + "/"
    for path in sorted(glob.glob(os.path.join(folder, "*.sql"))):
        name = prefix + os.path.basename(path)
        if name in done:
            continue
        for s in statements(open(path, encoding="utf-8").read()):  # autocommit, one at a time
            try:
                db.execute(s)
            except sqlite3.Error as e:
                raise Refused(f"{os.path.basename(path)}: {e}")
        db.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, datetime('now'))", (name,))
        applied += 1
    return applied


def versioned(folder, pattern, key, deep=False):
    found = []
    paths = glob.glob(os.path.join(folder, "**", "*"), recursive=True) if deep else glob.glob(os.path.join(folder, "*"))
    for path in sorted(paths):
        m = re.match(pattern, os.path.basename(path))
        if m:
            found.append((key(m), m, path))
    return sorted(found, key=lambda f: f[0])


def sqlx(db, folder):
    db.execute("CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
               "installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, "
               "checksum BLOB NOT NULL, execution_time BIGINT NOT NULL)")
    for (v,) in db.execute("SELECT version FROM _sqlx_migrations WHERE success = false"):
        raise Refused(f"migration {v} is partially applied; fix and remove row from `_sqlx_migrations` table")
    files = [f for f in versioned(folder, r"^(\d+)_(.+?)(\.up)?\.sql$", lambda m: int(m.group(1)))
             if not f[2].endswith(".down.sql")]
    applied = dict(db.execute("SELECT version, checksum FROM _sqlx_migrations").fetchall())
    for v in applied:
        if v not in {f[0] for f in files}:
            raise Refused(f"migration {v} was previously applied but is missing in the resolved migrations")
    count = 0
    for version, m, path in files:
        text = open(path, encoding="utf-8", newline="").read()
        checksum = hashlib.sha384(text.encode()).digest()
        if version in applied:
            if applied[version] != checksum:
                raise Refused(f"migration {version} was previously applied but has been modified")
            continue
        run_in_tx(db, text, ("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) "
                             "VALUES (?, ?, TRUE, ?, -1)", (version, m.group(2).replace("_", " "), checksum)))
        db.execute("UPDATE _sqlx_migrations SET execution_time = ? WHERE version = ?", (1000, version))
        count += 1
    return count


def refinery(db, folder):
    db.execute("CREATE TABLE IF NOT EXISTS refinery_schema_history(version int4 PRIMARY KEY, name VARCHAR(255), "
               "applied_on VARCHAR(255), checksum VARCHAR(255))")
    # WalkDir: subfolders too; U files are applied whatever their number.
    files = versioned(folder, r"^([UV])(\d+)__(\w+)\.sql$", lambda m: int(m.group(2)), deep=True)
    applied = {r[0]: (r[1], r[2]) for r in db.execute("SELECT version, name, checksum FROM refinery_schema_history")}
    local = {}
    for version, m, path in files:
        text = open(path, encoding="utf-8", newline="").read()
        local[version] = (m.group(3), str(refinery_checksum(m.group(3), version, text)), text, m.group(1))
    for v, (name, checksum) in applied.items():
        if v not in local:
            raise Refused(f"migration V{v}__{name} is missing from the filesystem")
        if (name, checksum) != local[v][:2]:
            raise Refused(f"applied migration V{v}__{name} is different than filesystem one")
    top = max(applied, default=0)
    count = 0
    for version, (name, checksum, text, prefix) in sorted(local.items()):
        if version in applied:
            continue
        if version <= top and prefix == "V":
            raise Refused(f"migration V{version}__{name} is missing from the database (out of order)")
        run_in_tx(db, text)
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
        db.execute(f"INSERT INTO refinery_schema_history (version, name, applied_on, checksum) "
                   f"VALUES ({version}, '{name}', '{stamp}', '{checksum}')")
        count += 1
    return count


def diesel(db, folder):
    db.execute("CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
               "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
    done = {r[0] for r in db.execute("SELECT version FROM __diesel_schema_migrations")}
    found = []
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "up.sql")):
            found.append((os.path.basename(path).split("_")[0].replace("-", ""), path))
    count = 0
    for version, path in sorted(found):
        if version in done:
            continue
        run_in_tx(db, open(os.path.join(path, "up.sql"), encoding="utf-8").read(),
                  ("INSERT INTO `__diesel_schema_migrations` (`version`) VALUES (?)", (version,)))
        count += 1
    return count


def goose(db, folder):
    if not db.execute("SELECT 1 FROM sqlite_schema WHERE name = 'goose_db_version'").fetchone():
        db.execute("BEGIN")
        db.execute("CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, "
                   "is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))")
        db.execute("INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1)")
        db.execute("COMMIT")
    applied = {r[0] for r in db.execute("SELECT version_id FROM goose_db_version")}
    top = max(applied)
    count = 0
    for version, m, path in versioned(folder, r"^(\d+)_.*\.sql$", lambda m: int(m.group(1))):
        if version in applied:
            continue
        if version < top:
            raise Refused(f"error: found 1 missing migrations before current version {top}")
        up = section(open(path, encoding="utf-8").read(), r"^-- \+goose up", r"^-- \+goose down")
        run_in_tx(db, up, ("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?)", (version, True)))
        count += 1
    return count


def dbmate(db, folder):
    db.execute('create table if not exists "schema_migrations" (version varchar(128) primary key)')
    done = {r[0] for r in db.execute("SELECT version FROM schema_migrations")}
    count = 0
    for version, m, path in versioned(folder, r"^(\d+).*\.sql$", lambda m: m.group(1)):
        if version in done:
            continue
        up = section(open(path, encoding="utf-8").read(), r"^--\s*migrate:up", r"^--\s*migrate:down")
        run_in_tx(db, up, ('insert into "schema_migrations" (version) values (?)', (version,)))
        count += 1
    return count


def flyway(db, folder):
    db.execute('CREATE TABLE IF NOT EXISTS "flyway_schema_history" ("installed_rank" INT NOT NULL PRIMARY KEY, '
               '"version" VARCHAR(50), "description" VARCHAR(200) NOT NULL, "type" VARCHAR(20) NOT NULL, '
               '"script" VARCHAR(1000) NOT NULL, "checksum" INT, "installed_by" VARCHAR(100) NOT NULL, '
               '"installed_on" TEXT NOT NULL DEFAULT (strftime(\'%Y-%m-%d %H:%M:%f\',\'now\')), '
               '"execution_time" INT NOT NULL, "success" BOOLEAN NOT NULL)')
    key = lambda m: tuple(int(p) for p in m.group(1).replace("_", ".").split("."))
    files = versioned(folder, r"^V([\d._]+)__(.+)\.sql$", key, deep=True)
    applied = {tuple(int(p) for p in r[0].split(".")): (r[1], r[2]) for r in
               db.execute("SELECT version, checksum, success FROM flyway_schema_history WHERE type = 'SQL'")}
    local = {v: (m, p) for v, m, p in files}
    for v, (checksum, success) in applied.items():
        if not success:
            raise Refused(f"Validate failed: Detected failed migration to version {v}")
        if v not in local:
            raise Refused(f"Validate failed: Detected applied migration not resolved locally: {v}")
        text = open(local[v][1], encoding="utf-8", newline="").read()
        if flyway_checksum(text) != checksum:
            raise Refused(f"Validate failed: Migration checksum mismatch for migration version {v}")
    top = max(applied, default=())
    rank = db.execute("SELECT coalesce(max(installed_rank), 0) FROM flyway_schema_history").fetchone()[0]
    count = 0
    for v, m, path in files:
        if v in applied:
            continue
        if v < top:
            raise Refused(f"Validate failed: Detected resolved migration not applied to database: {m.group(1)}")
        text = open(path, encoding="utf-8", newline="").read()
        rank += 1
        run_in_tx(db, text, ('INSERT INTO "flyway_schema_history" ("installed_rank", "version", "description", "type", '
                             '"script", "checksum", "installed_by", "execution_time", "success") '
                             'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
                             (rank, m.group(1).replace("_", "."), m.group(2).replace("_", " "), "SQL",
                              os.path.relpath(path, folder), flyway_checksum(text), "", 3, 1)))
        count += 1
    return count


def prisma(db, folder):
    db.execute('CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" TEXT PRIMARY KEY NOT NULL, "checksum" TEXT NOT NULL, '
               '"finished_at" DATETIME, "migration_name" TEXT NOT NULL, "logs" TEXT, "rolled_back_at" DATETIME, '
               '"started_at" DATETIME NOT NULL DEFAULT current_timestamp, '
               '"applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0)')
    rows = db.execute("SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations").fetchall()
    for name, finished, rolled_back in rows:
        if finished is None and rolled_back is None:
            raise Refused(f"The `{name}` migration failed")
    done = {r[0] for r in rows if r[2] is None}
    count = 0
    for path in sorted(glob.glob(os.path.join(folder, "*", "migration.sql"))):
        name = os.path.basename(os.path.dirname(path))
        if name in done:
            continue
        raw = open(path, "rb").read()
        ms = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000)
        db.execute("INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) VALUES (?, ?, ?, ?)",
                   (str(uuid.uuid4()), hashlib.sha256(raw).hexdigest(), ms, name))
        try:
            db.executescript(raw.decode())  # no transaction, as the engine runs it
        except sqlite3.Error as e:
            raise Refused(f"{name}: {e}")
        db.execute("UPDATE _prisma_migrations SET applied_steps_count = applied_steps_count + 1, finished_at = ? "
                   "WHERE migration_name = ?", (ms, name))
        count += 1
    return count


RUNNERS = dict(names=names, sqlx=sqlx, refinery=refinery, diesel=diesel, goose=goose, dbmate=dbmate,
               flyway=flyway, prisma=prisma)

if __name__ == "__main__":
    # refinery's own test vector (refinery/tests/rusqlite.rs): V1__initial.sql of migrations_broken.
    assert refinery_checksum("initial", 1, "CREATE TABLE persons (\n    id int,\n    name varchar(255),\n"
                             "    city varchar(255)\n);\n") == 2959965718684201605
    kind, path, folder = sys.argv[1:4]
    db = sqlite3.connect(path, isolation_level=None)
    try:
        applied = RUNNERS[kind](db, folder)
    except Refused as e:
        print(f"refused to start: {e}")
        sys.exit(1)
    print(f"started: applied {applied}")
