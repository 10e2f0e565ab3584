#!/usr/bin/python3
"""Backup while serving, restore after stopping, and `status` against the real daemon.

    /usr/bin/python3 backup_test.py <clinic-gateway>

1. The daemon serves FHIR and HL7v2 MLLP (port 0). Two client threads PUT Patients without
   pause; each records when it sent and when the answer (201/200) came.
2. `clinic-gateway backup FILE` runs while they write. Every Patient acknowledged before the
   backup started must be in it; one sent after the backup ended must not.
3. `status` (text and --json) shows the daemon running with its listeners and ports; a second
   `serve` on the same data directory, `restore` and `vacuum` are refused while it runs.
4. The daemon stops; `restore FILE` swaps the backup in (the old directory kept); every
   database passes PRAGMA integrity_check; the daemon starts on it and serves every Patient
   acknowledged before the backup began, with the content sent; `vacuum` runs.
"""

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

COMMAND_TIMEOUT_S = 300


def run(binary: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S)


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db), timeout=10)
    try:
        return "; ".join(row[0] for row in con.execute("PRAGMA integrity_check").fetchall())
    finally:
        con.close()


class Writers:
    """Client threads that PUT Patients until stopped: (id, family, sent, acked) per success."""

    def __init__(self, gw: GatewayProcess, threads: int = 2):
        self.gw = gw
        self.done: list[tuple[str, str, float, float]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(t,), daemon=True)
                        for t in range(threads)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stop_flag.set()
        for t in self.threads:
            t.join(60)

    def acked(self) -> int:
        with self.lock:
            return len(self.done)

    def _write(self, thread: int) -> None:
        n = 0
        with self.gw.connection() as c:
            while not self.stop_flag.is_set():
                pid = f"bk-{thread}-{n}"
                family = f"Family{thread}x{n}"
                body = json.dumps({"resourceType": "Patient", "id": pid,
                                   "name": [{"family": family}]})
                sent = time.monotonic()
                status, _, data = c.request("PUT", f"/fhir/Patient/{pid}", body,
                                            {"Content-Type": "application/fhir+json"})
                acked = time.monotonic()
                with self.lock:
                    if status in (200, 201):
                        self.done.append((pid, family, sent, acked))
                    else:
                        self.errors.append(f"{pid}: {status} {data[:200]!r}")
                n += 1


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    gw = GatewayProcess(binary, {"mllp": {"enabled": True, "address": "127.0.0.1", "port": 0}},
                        name="backup")
    config = str(gw.config_path)
    backup = gw.dir / "backups" / "gateway.tar"
    backup.parent.mkdir()
    try:
        gw.start()
        writers = Writers(gw)
        writers.start()
        checks.check("writes before the backup", wait_until(lambda: writers.acked() >= 40, 120),
                     f"{writers.acked()} acknowledged")
        began = time.monotonic()
        result = run(binary, "backup", str(backup), "--config", config)
        ended = time.monotonic()
        during = writers.acked()
        wait_until(lambda: writers.acked() >= during + 10, 60)  # some clearly after it
        writers.stop()
        checks.check("backup while serving", result.returncode == 0,
                     result.stdout + result.stderr)
        checks.check("the backup is mode 0600", backup.exists()
                     and (backup.stat().st_mode & 0o777) == 0o600, oct(backup.stat().st_mode))
        checks.check("no write failed", not writers.errors, "; ".join(writers.errors[:3]))
        with writers.lock:
            done = list(writers.done)
        before = [d for d in done if d[3] < began]
        after = [d for d in done if d[2] > ended]
        print(f"  {len(done)} Patients acknowledged: {len(before)} before the backup began, "
              f"{len(after)} sent after it ended")

        # status against the running daemon
        status = run(binary, "status", "--config", config)
        checks.check("status runs", status.returncode == 0, status.stderr)
        checks.check("status: the daemon runs", "running, pid" in status.stdout, status.stdout)
        checks.check("status: FHIR listener and port",
                     "FHIR" in status.stdout and str(gw.port) in status.stdout, status.stdout)
        checks.check("status: MLLP listener and port",
                     "HL7v2 MLLP" in status.stdout and str(gw.mllp_port) in status.stdout,
                     status.stdout)
        as_json = run(binary, "status", "--config", config, "--json")
        try:
            doc = json.loads(as_json.stdout)
            ports = {l["name"]: l["port"] for l in doc["runtime"]["listeners"]}
            checks.check("status --json: running, listeners",
                         doc["daemon"]["running"] and ports.get("FHIR") == gw.port
                         and ports.get("HL7v2 MLLP") == gw.mllp_port
                         and not doc["runtime"]["stale"], as_json.stdout)
            resources = {s["file"]: s for s in doc["stores"]}["clinical.db"]["counts"]["resources"]
            checks.check("status --json: resource count", resources == len(done),
                         f"{resources} != {len(done)}")
        except (ValueError, KeyError) as e:
            checks.check("status --json parses", False, f"{e}: {as_json.stdout[:500]}")

        second = run(binary, "serve", "--config", config)
        checks.check("a second serve on the same data directory is refused",
                     second.returncode == 1 and "in use by" in second.stderr, second.stderr)
        refused = run(binary, "restore", str(backup), "--config", config)
        checks.check("restore refused while serving",
                     refused.returncode == 1 and "stop the gateway first" in refused.stderr,
                     refused.stderr)
        refused = run(binary, "vacuum", "--config", config)
        checks.check("vacuum refused while serving", refused.returncode == 1, refused.stderr)

        checks.check("daemon stops cleanly", gw.stop() == 0)
        stopped = run(binary, "status", "--config", config)
        checks.check("status: not running after stop", "not running" in stopped.stdout,
                     stopped.stdout)

        restored = run(binary, "restore", str(backup), "--config", config)
        checks.check("restore", restored.returncode == 0, restored.stdout + restored.stderr)
        kept = [p for p in gw.dir.iterdir() if p.name.startswith("data.before-restore-")]
        checks.check("the old data directory is kept and named", len(kept) == 1
                     and str(kept[0]) in restored.stdout, restored.stdout)
        for name in ("clinical.db", "audit.db", "security.db"):
            result = integrity(gw.data_dir / name)
            checks.check(f"{name} passes integrity_check", result == "ok", result)

        gw.start()
        missing = []
        for pid, family, _, _ in before:
            got, _ = gw.json("GET", f"/fhir/Patient/{pid}", expect=(200, 404))
            if not got or got.get("resourceType") != "Patient" or \
                    got["name"][0]["family"] != family:
                missing.append(pid)
        checks.check("every Patient acknowledged before the backup began is restored",
                     not missing, f"{len(missing)} missing, e.g. {missing[:5]}")
        present = []
        for pid, _, _, _ in after:
            status_code, _, _ = gw.request("GET", f"/fhir/Patient/{pid}")
            if status_code != 404:
                present.append(pid)
        checks.check("Patients sent after the backup ended are not in it", not present,
                     f"{present[:5]}")
        checks.check("daemon stops cleanly on the restored data", gw.stop() == 0)
        vacuum = run(binary, "vacuum", "--config", config)
        checks.check("vacuum while stopped", vacuum.returncode == 0 and "clinical.db" in vacuum.stdout,
                     vacuum.stdout + vacuum.stderr)
    finally:
        if gw.alive():
            gw.stop()
        print(gw.log_tail(20) if checks.failures else "", end="")
        gw.cleanup()
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
