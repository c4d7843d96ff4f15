#!/usr/bin/env python3
"""The fleet rollout run for real: five shops on this machine (ansible_connection=local), each
its own folder and demo database with its own tenant value; the third has a view an old update
left broken, so its dry run fails. Checks that the rollout stops there with the shops before it
migrated and verified, the failing one unchanged with its reports fetched, the ones after it
untouched; that a second run after the fix completes the rest without touching the shops
already done; and that the rollback playbook puts one shop back to its original bytes.

    python3 examples/fleet/test_rollout.py --cutover target/debug/cutover --ansible VENV/bin
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITES = [("site1", "north-quay"), ("site2", "harbor-east"), ("site3", "old-mill"),
         ("site4", "river-road"), ("site5", "bay-street")]
BROKEN = "site3"


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cutover(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return out


def status(binary, db):
    out = cutover(binary, "status", str(db), "--json")
    assert out.returncode == 0, f"status exit {out.returncode}: {out.stderr}"
    return json.loads(out.stdout)


def make_sites(binary, root):
    dbs = {}
    for name, _ in SITES:
        made = cutover(binary, "demo", "--dir", str(root / name))
        assert made.returncode == 0, f"demo for {name}: {made.stderr}"
        dbs[name] = root / name / "pos.db"
    # An old update left a view that names a column no table has: the dry run's views_compile
    # check fails on the copy, and execute never reaches production.
    con = sqlite3.connect(dbs[BROKEN])
    view_sql = con.execute("SELECT sql FROM sqlite_schema WHERE name = 'v_daily_sales'").fetchone()[0]
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_schema SET sql = 'CREATE VIEW v_daily_sales AS SELECT total_cents_old FROM sales'"
                " WHERE name = 'v_daily_sales'")
    con.commit()
    con.close()
    return dbs, view_sql


def inventory(root, binary, dbs, ansible_python):
    lines = ["[sites]"]
    for name, tenant in SITES:
        lines.append(f"{name} cutover_tenant={tenant} cutover_db={dbs[name]} cutover_install_dir={root / name / 'bin'}")
    lines += ["", "[sites:vars]", "ansible_connection=local", f"ansible_python_interpreter={ansible_python}",
              f"cutover_binary_linux={Path(binary).resolve()}", f"cutover_fleet_dir={root / 'fleet-out'}"]
    path = root / "inventory.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def playbook(ansible_bin, inv, book, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=str(HERE / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    out = subprocess.run([str(Path(ansible_bin) / "ansible-playbook"), "-i", str(inv), str(HERE / book), *extra],
                         capture_output=True, text=True, env=env, cwd=HERE, stdin=subprocess.DEVNULL)
    print(out.stdout[-6000:])
    print(out.stderr[-3000:], file=sys.stderr)
    return out.returncode


def result(root, name):
    return json.loads((root / "fleet-out" / "results" / f"{name}.json").read_text())


def main():
    args = argparse.ArgumentParser()
    args.add_argument("--cutover", required=True)
    args.add_argument("--ansible", required=True, help="the folder with ansible-playbook and its python")
    a = args.parse_args()
    binary = str(Path(a.cutover).resolve())
    root = Path(tempfile.mkdtemp(prefix="cutover-fleet-"))
    try:
        dbs, view_sql = make_sites(binary, root)
        original = {name: sha(db) for name, db in dbs.items()}
        inv = inventory(root, binary, dbs, Path(a.ansible) / "python")

        # First rollout: stops at the broken shop.
        rc = playbook(a.ansible, inv, "rollout.yml")
        assert rc != 0, "the rollout must fail at the broken shop"
        for name in ("site1", "site2"):
            s = status(binary, dbs[name])
            assert s["state"] == "migrated_and_verified", (name, s)
            assert s["changed_since_execute"] is False, (name, s)
            r = result(root, name)
            assert r["exit_code"] == 0 and r["cutover"]["ok"] is True, r
            assert (root / "fleet-out" / "reports" / name / "execution.md").is_file(), name
        assert sha(dbs[BROKEN]) == original[BROKEN], "the failing shop's database was changed"
        assert status(binary, dbs[BROKEN])["state"] == "rehearsal_failed"
        assert result(root, BROKEN)["exit_code"] == 1, result(root, BROKEN)
        assert (root / "fleet-out" / "reports" / BROKEN / "dry-run.md").is_file(), "its dry-run report was fetched"
        for name in ("site4", "site5"):
            assert sha(dbs[name]) == original[name], f"{name} was touched after the failing shop"
            assert not (dbs[name].parent / "pos.db.cutover").exists(), f"{name} was touched"
            assert status(binary, dbs[name])["state"] == "untouched"
        summary = (root / "fleet-out" / "summary.md").read_text()
        print(summary)
        assert "| site3 | old-mill | FAILED (exit 1) | — (unchanged)" in summary, summary
        assert "| site4 | river-road | not reached" in summary, summary
        assert "| site1 | north-quay | migrated and verified" in summary, summary

        # The shop's view is put right; the rollout runs again and completes.
        con = sqlite3.connect(dbs[BROKEN])
        con.execute("PRAGMA writable_schema = ON")
        con.execute("UPDATE sqlite_schema SET sql = ? WHERE name = 'v_daily_sales'", (view_sql,))
        con.commit()
        con.close()
        fixed = sha(dbs[BROKEN])
        done_before = {n: (sha(dbs[n]), (dbs[n].parent / "pos.db.cutover" / "journal.jsonl").read_bytes())
                       for n in ("site1", "site2")}
        rc = playbook(a.ansible, inv, "rollout.yml")
        assert rc == 0, "the second rollout must complete"
        for name in ("site1", "site2"):
            r = result(root, name)
            assert r["cutover"]["already_done"] is True, r
            assert r["stopped_application"] is False, ("an already-done shop is not stopped", r)
            now = (sha(dbs[name]), (dbs[name].parent / "pos.db.cutover" / "journal.jsonl").read_bytes())
            assert now == done_before[name], f"{name} was touched although already done"
        for name in ("site3", "site4", "site5"):
            s = status(binary, dbs[name])
            assert s["state"] == "migrated_and_verified", (name, s)
            assert sha(dbs[name]) != (fixed if name == BROKEN else original[name])
        summary = (root / "fleet-out" / "summary.md").read_text()
        print(summary)
        assert "| site1 | north-quay | already done" in summary, summary
        assert "| site5 | bay-street | migrated and verified" in summary, summary

        # site1's migration is undone in place; the rollout run again must see that the file no
        # longer holds it (status reads the file, not the journal), stop the shop's application
        # and migrate it again.
        undone = cutover(binary, "rollback", str(dbs["site1"]), "--undo", "--yes", "--json")
        assert undone.returncode == 0, undone.stderr
        assert status(binary, dbs["site1"])["state"] == "undone"
        rc = playbook(a.ansible, inv, "rollout.yml", "-l", "site1")
        assert rc == 0, "the rollout after the undo failed"
        r = result(root, "site1")
        assert r["state_before"] == "undone", r
        assert r["stopped_application"] is True, ("the shop's application must be stopped before the execute", r)
        assert r["cutover"].get("already_done") is not True, r
        assert status(binary, dbs["site1"])["state"] == "migrated_and_verified"

        # The second playbook rolls one shop back to its bytes from before.
        rc = playbook(a.ansible, inv, "rollback.yml", "-l", "site2")
        assert rc == 0, "the rollback playbook failed"
        assert sha(dbs["site2"]) == original["site2"], "site2 is not back to its original bytes"
        assert status(binary, dbs["site2"])["state"] == "rolled_back"
        assert status(binary, dbs["site1"])["state"] == "migrated_and_verified", "-l site2 touched site1"
        print("fleet rollout: every check passed")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
