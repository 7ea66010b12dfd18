#!/usr/bin/env python3
"""Which b-trees a replayed sale writes: WAL frames per sale, by table or index.

    bench/wal_pages.py LOYALTY_TERMINAL DATASET [--warm N] [--sales M]

Replays the first N invoices of the Online Retail data set (members enrolled first) through
`loyalty-terminal exec`, closes it (its checkpoint empties the WAL), then replays the next M
invoices in a second `exec` and copies the database and its WAL while that one is still open
(before SQLite's own checkpoint at 1,000 pages, so keep M * pages-per-sale under it). Every
frame of the WAL is a page a commit wrote and synced; dbstat names the b-tree each page
belongs to. Prints JSON: frames per sale, by owner, and the statement of the method.
"""
import argparse
import collections
import csv
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def invoices(path, count):
    """The first `count` invoices (adjustments and invoices over 1,000 lines left out)."""
    out, by_no = [], {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for no, sku, desc, qty, at, price, customer, _country in rows:
            if no.startswith("A"):
                continue
            if no not in by_no:
                if len(out) == count:
                    break
                by_no[no] = {"no": no, "customer": customer, "at": at.replace(" ", "T") + "Z", "lines": []}
                out.append(by_no[no])
            line = {"sku": sku, "qty": int(qty), "unit_price": price}
            if desc:
                line["description"] = desc
            by_no[no]["lines"].append(line)
    return [i for i in out if len(i["lines"]) <= 1000]


def phone(customer):
    return "139%08d" % int(float(customer))


def run_exec(binary, data, requests, keep_wal_in=None):
    """Sends `requests` to one exec; with keep_wal_in, copies the database and WAL before it ends."""
    p = subprocess.Popen([binary, "exec", "--data", data, "--store", "S1", "--terminal", "T1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for n, r in enumerate(requests):
        p.stdin.write(json.dumps(dict(r, id=n), ensure_ascii=False) + "\n")
        p.stdin.flush()
        answer = json.loads(p.stdout.readline())
        if not answer.get("ok") and answer.get("error", {}).get("code") != "already_exists":
            sys.exit("request %d failed: %s" % (n, answer))
    if keep_wal_in:
        for name in ("terminal.db", "terminal.db-wal"):
            shutil.copyfile(os.path.join(data, name), os.path.join(keep_wal_in, name))
        shutil.copyfile(os.path.join(data, "at-rest.key"), os.path.join(keep_wal_in, "at-rest.key"))
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("exec failed")


def sales(batch):
    for inv in batch:
        r = {"op": "sale", "sale_id": inv["no"], "at": inv["at"], "lines": inv["lines"]}
        if inv["customer"]:
            r["member"] = phone(inv["customer"])
        yield r


def wal_frames(path):
    """[(page number, commit size)] of the valid frames of a WAL file."""
    with open(path, "rb") as f:
        data = f.read()
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames, at = [], 32
    while at + 24 + page_size <= len(data):
        pgno, commit = struct.unpack(">II", data[at:at + 8])
        if data[at + 8:at + 16] != salts:
            break
        frames.append((pgno, commit))
        at += 24 + page_size
    return frames


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary")
    ap.add_argument("dataset")
    ap.add_argument("--warm", type=int, default=2000)
    ap.add_argument("--sales", type=int, default=50)
    o = ap.parse_args()

    all_invoices = invoices(o.dataset, o.warm + o.sales)
    warm, measured = all_invoices[:o.warm], all_invoices[o.warm:]
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as snap:
        customers = sorted({i["customer"] for i in all_invoices if i["customer"]})
        enrol = [{"op": "enroll", "phone": phone(c), "name": "Customer " + c, "consent_marketing": False,
                  "at": "2010-11-30T09:00:00Z"} for c in customers]
        run_exec(o.binary, data, enrol + list(sales(warm)))
        run_exec(o.binary, data, list(sales(measured)), keep_wal_in=snap)
        frames = wal_frames(os.path.join(snap, "terminal.db-wal"))
        owners = dict(line.split("|", 1)[::-1] for line in subprocess.run(
            ["sqlite3", os.path.join(snap, "terminal.db"), "SELECT name, pageno FROM dbstat"],
            check=True, capture_output=True, text=True).stdout.split())
    commits = sum(1 for _, c in frames if c)
    by_owner = collections.Counter(owners.get(str(p), "(free or new)") for p, _ in frames)
    lines = sum(len(i["lines"]) for i in measured)
    print(json.dumps({
        "method": "WAL frames written by %d replayed sales (invoices %d-%d of the data set, %.1f lines each), "
                  "pages named by dbstat" % (len(measured), o.warm + 1, o.warm + len(measured), lines / max(len(measured), 1)),
        "transactions": commits,
        "frames_per_sale": round(len(frames) / max(commits, 1), 2),
        "by_owner_per_sale": {k: round(v / max(commits, 1), 2) for k, v in by_owner.most_common()},
    }, indent=2))


if __name__ == "__main__":
    main()
