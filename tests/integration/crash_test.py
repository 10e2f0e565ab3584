#!/usr/bin/python3
"""Promise 1: nothing acknowledged is lost, whatever instant the daemon dies at.

    /usr/bin/python3 crash_test.py <clinic-gateway>

Each iteration starts the daemon on the same data dir, runs 8 client threads that create
Patients (each thread records the id and body of every create answered 201 with a Location),
and `kill -9`s the daemon at a random point mid-load (after a random number of
acknowledgements or a random time, whichever comes first). Then:

- a copy of the crashed files (clinical.db + -wal) passes `PRAGMA integrity_check`;
- the daemon restarts on the crashed data dir, and every acknowledged Patient of this
  iteration is readable with exactly the content that was sent (the last iteration re-checks
  every Patient acknowledged in any iteration);
- the store holds at least as many Patients as were acknowledged and no more than attempted.

After the last iteration the daemon is stopped with SIGTERM (exit 0) and the real
data/clinical.db passes `PRAGMA integrity_check`.

Environment: CG_CRASH_SEED (the seed is printed; set it to replay a failure),
CG_CRASH_ITERATIONS (default 10), CG_CRASH_CLIENTS (default 8).
"""

import http.client
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             first_difference, strip_meta_versions)

ITERATIONS = int(os.environ.get("CG_CRASH_ITERATIONS", "10"))
CLIENTS = int(os.environ.get("CG_CRASH_CLIENTS", "8"))
MAX_LOAD_S = 1.2  # upper bound of one iteration's load phase


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db), timeout=10)
    try:
        return "; ".join(row[0] for row in con.execute("PRAGMA integrity_check").fetchall())
    finally:
        con.close()


def crashed_copy_integrity(data_dir: Path) -> str:
    """integrity_check on a copy of the files exactly as kill -9 left them (recovers the WAL)."""
    tmp = Path(tempfile.mkdtemp(prefix="cg-crashcopy-"))
    try:
        for suffix in ("", "-wal"):
            src = data_dir / f"clinical.db{suffix}"
            if src.exists():
                shutil.copy2(src, tmp / src.name)
        if not (tmp / "clinical.db").exists():
            return "clinical.db missing"
        return integrity(tmp / "clinical.db")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def patient(iteration: int, client: int, n: int, rng: random.Random) -> dict:
    tag = f"{iteration}x{client}x{n}"
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.3.6.1.4.1.21367.99.2", "value": f"crash-{tag}"}],
        "name": [{"family": f"Crash{tag}", "given": [rng.choice(["Amina", "Joseph", "Wanjiru", "Tendai"])]}],
        "gender": rng.choice(["female", "male", "other", "unknown"]),
        "birthDate": f"{rng.randint(1930, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }


def run_iteration(gw: GatewayProcess, iteration: int, rng: random.Random, checks: Checks, acked_all: dict):
    kill_after_acks = rng.randint(1, 1500)
    kill_after_s = rng.uniform(0.1, MAX_LOAD_S)
    client_seeds = [rng.randrange(1 << 30) for _ in range(CLIENTS)]
    gw.start()
    acked = {}  # id -> body sent
    attempted = [0]
    errors = []
    lock = threading.Condition()
    stop = threading.Event()

    def client(c: int):
        crng = random.Random(client_seeds[c])
        n = 0
        try:
            conn = gw.connection(timeout=30)
            while not stop.is_set():
                body = patient(iteration, c, n, crng)
                n += 1
                with lock:
                    attempted[0] += 1
                status, headers, data = conn.request("POST", "/fhir/Patient", json.dumps(body),
                                                     {"Content-Type": "application/fhir+json",
                                                      "Prefer": "return=minimal"})
                if status == 201 and headers.get("location"):
                    rid = headers["location"].split("/Patient/")[1].split("/")[0]
                    with lock:
                        acked[rid] = body
                        lock.notify_all()
                else:
                    with lock:
                        errors.append(f"HTTP {status} {data[:200]!r}")
        except (OSError, http.client.HTTPException):
            pass  # the daemon was killed under us: expected
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    with lock:  # bounded wait for the random kill point
        lock.wait_for(lambda: len(acked) >= kill_after_acks, timeout=kill_after_s)
        n_at_kill = len(acked)
    gw.kill()
    load_s = time.monotonic() - t0
    stop.set()
    for t in threads:
        t.join(30)
    checks.check(f"[{iteration}] client threads ended after the kill", not any(t.is_alive() for t in threads))
    checks.check(f"[{iteration}] no non-201 answers before the kill", not errors, "; ".join(errors[:3]))
    print(f"[{iteration}] killed after {load_s:.2f}s: {n_at_kill} acknowledged at the kill decision, "
          f"{len(acked)} in total, {attempted[0]} attempted")

    res = crashed_copy_integrity(gw.data_dir)
    checks.check(f"[{iteration}] integrity_check of the crashed files", res == "ok", res)

    gw.start()
    acked_all.update(acked)
    to_check = acked_all if iteration == ITERATIONS - 1 else acked
    missing, changed = verify(gw, to_check)
    what = "every Patient acknowledged in any iteration" if to_check is acked_all else "every acknowledged Patient"
    checks.check(f"[{iteration}] {what} is readable after restart ({len(to_check)})", not missing,
                 f"{len(missing)} missing, e.g. {missing[:5]}")
    checks.check(f"[{iteration}] ... with the content that was sent", not changed, "; ".join(changed[:3]))
    count, _ = gw.json("GET", "/fhir/Patient?_summary=count")
    total = count.get("total", -1)
    checks.check(f"[{iteration}] acknowledged <= stored Patients <= attempted",
                 len(acked_all) <= total <= sum_attempted[0] + attempted[0],
                 f"{len(acked_all)} acknowledged, {total} stored, {sum_attempted[0] + attempted[0]} attempted")
    sum_attempted[0] += attempted[0]
    if iteration != ITERATIONS - 1:
        gw.kill()  # the next iteration starts from a crash too


sum_attempted = [0]


def verify(gw: GatewayProcess, expected: dict):
    missing, changed = [], []
    local = threading.local()

    def one(item):
        rid, body = item
        if not hasattr(local, "conn"):
            local.conn = gw.connection()
        status, _, data = local.conn.request("GET", f"/fhir/Patient/{rid}", None, {"Accept": "application/fhir+json"})
        if status != 200:
            return ("missing", f"{rid}: HTTP {status}")
        diff = first_difference(dict(body, id=rid), strip_meta_versions(json.loads(data)))
        return ("changed", f"{rid}: {diff}") if diff else None

    with ThreadPoolExecutor(4) as pool:
        for r in pool.map(one, expected.items(), chunksize=32):
            if r:
                (missing if r[0] == "missing" else changed).append(r[1])
    return missing, changed


def main() -> int:
    binary = binary_from_argv(sys.argv)
    seed = int(os.environ.get("CG_CRASH_SEED", random.SystemRandom().randrange(1 << 32)))
    print(f"crash test: seed {seed} (replay with CG_CRASH_SEED={seed}), {ITERATIONS} iterations, "
          f"{CLIENTS} clients")
    rng = random.Random(seed)
    checks = Checks()
    acked_all = {}
    gw = GatewayProcess(binary, name="crash")
    try:
        for i in range(ITERATIONS):
            run_iteration(gw, i, rng, checks, acked_all)
        code = gw.stop()
        checks.check("final SIGTERM exits 0", code == 0, f"exit code {code}")
        res = integrity(gw.data_dir / "clinical.db")
        checks.check("integrity_check of data/clinical.db after the clean stop", res == "ok", res)
        checks.check("the load acknowledged some creates", len(acked_all) > 0)
        print(f"{len(acked_all)} Patients acknowledged over {ITERATIONS} crashes, all present")
    except Exception:
        print("---- daemon log (tail) ----\n" + gw.log_tail(), file=sys.stderr)
        print(f"(seed {seed})", file=sys.stderr)
        raise
    finally:
        gw.cleanup()
    rc = checks.summary()
    if rc:
        print(f"replay with CG_CRASH_SEED={seed}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
