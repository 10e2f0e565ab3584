#!/usr/bin/python3
"""Appliance figures for clinic-gateway (issue 7): memory, start-up time and package size.

  idle     : a fresh gateway (empty data dir) started with a NOTIFY_SOCKET of ours: the time
             from exec to READY=1, then VmRSS after it has idled for --idle seconds.
  loaded   : search_bench's synthetic clinic (default 10,000 Patients, ~100,000 resources)
             POSTed as transaction Bundles, then reads by id and the search mix of
             search_bench over fhir_load; VmRSS right after the ingest, right after the runs
             and --idle seconds later, and VmHWM (peak RSS) over all of it. Each reading also
             takes the gateway's heap figures from /metrics (live, held by the allocator,
             SQLite's share), to say where the memory is.
  restart  : the same data dir started again: time to READY=1 with ~100,000 resources, and
             VmRSS after --idle seconds.
  package  : with --deb FILE...: each file's size and its Installed-Size.

Targets (issue 7): idle <= 20 MB, loaded <= 64 MB, ready <= 300 ms. The peer is the SanteDB
dCDR gateway's stated minimum of 1 GB of RAM on a Raspberry Pi: a published figure, not a
measurement (it needs Mono and is not in Debian). Exit status is non-zero only when
something errored, never because a target was missed.

Usage: tests/bench/appliance_bench.py --gateway BIN --load BIN [--smoke] [--deb FILE...]
                                      [--json FILE] [--keep]
"""

import argparse
import atexit
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_bench as rb  # noqa: E402
import search_bench as sb  # noqa: E402

TARGET_IDLE_MB = 20
TARGET_LOADED_MB = 64
TARGET_READY_MS = 300
SANTEDB_MIN_RAM_MB = 1024  # SanteDB dCDR on a Raspberry Pi: its documented minimum


class ApplianceBench(sb.SearchBench):
    def __init__(self, args):
        super().__init__(args)
        self.notify_path = self.work / "notify"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.config_file = None

    # -------------------------------------------------------------- start with READY timing
    def start_timed(self, config_file=None):
        """Starts the gateway (fresh dir unless config_file) with our NOTIFY_SOCKET; returns
        the milliseconds from exec to READY=1."""
        os.environ["NOTIFY_SOCKET"] = str(self.notify_path)
        self.drain_notify()
        t0 = time.monotonic()
        if config_file is None:
            self.start_gateway()
            self.config_file = self.work / f"gateway-{self.gw_starts}" / "gateway.toml"
        else:
            self.restart_gateway(config_file)
        ready_ms = self.wait_ready(t0)
        rb.log(f"READY=1 after {ready_ms:.0f} ms")
        return ready_ms

    def restart_gateway(self, config_file):
        """The same config and data dir again (start_gateway always makes a fresh one)."""
        import re
        import threading
        self.gw = rb.start([self.a.gateway, "serve", "--config", str(config_file)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def pump():
            for line in self.gw.stderr:
                m = re.search(r"listening on https?://[^:/\s]+:(\d+)/fhir", line)
                if m and not found.is_set():
                    self.gw_port = int(m.group(1))
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(120) or self.gw.poll() is not None:
            raise RuntimeError("the restarted gateway did not report its port")

    def drain_notify(self):
        self.notify.setblocking(False)
        try:
            while True:
                self.notify.recv(65536)
        except BlockingIOError:
            pass

    def wait_ready(self, t0):
        deadline = t0 + 120
        while time.monotonic() < deadline:
            self.notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = self.notify.recv(65536).decode()
            except socket.timeout:
                break
            if "READY=1" in message.splitlines():
                return (time.monotonic() - t0) * 1000
        raise RuntimeError("no READY=1 within 120 s")

    def heap(self):
        """The gateway's own view of its memory, from /metrics: {name: bytes}."""
        conn = self.gw_conn()
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        out = {}
        for line in text.splitlines():
            for key in ("heap_allocated_bytes", "heap_resident_bytes", "sqlite_memory_bytes"):
                if line.startswith("clinic_gateway_" + key):
                    out[key] = float(line.rsplit(" ", 1)[1])
        return out

    def memory_snapshot(self, label):
        rss, hwm = self.gw_mem()
        snap = {"rss_kb": rss, "hwm_kb": hwm, **self.heap()}
        self.results.setdefault("memory", {})[label] = snap
        mb = lambda b: (b or 0) / 1048576  # noqa: E731
        rb.log(f"[{label}] RSS {mb(rss * 1024):.1f} MB, peak {mb(hwm * 1024):.1f} MB; heap "
               f"{mb(snap.get('heap_allocated_bytes')):.1f} MB live of "
               f"{mb(snap.get('heap_resident_bytes')):.1f} MB held, SQLite "
               f"{mb(snap.get('sqlite_memory_bytes')):.1f} MB")
        return rss, hwm

    def rss_after_idle(self):
        time.sleep(self.a.idle)  # the figure is the RSS of a gateway left alone this long
        return self.memory_snapshot(f"idle {self.gw_starts}")

    # -------------------------------------------------------------- the loaded phase
    def reads_by_id(self):
        """Paths of Patient reads by id (the ids come from a search, not from the data)."""
        status, bundle = self.get_json("/fhir/Patient?_count=1000&_elements=id")
        ids = [e["resource"]["id"] for e in (bundle or {}).get("entry", [])]
        if status != 200 or not ids:
            raise RuntimeError(f"Patient search for ids: HTTP {status}, {len(ids)} ids")
        rng = random.Random(self.a.data_seed)
        return [f"/fhir/Patient/{rng.choice(ids)}" for _ in range(2000)]

    def loaded_runs(self):
        paths = {"read Patient by id": self.reads_by_id()}
        paths.update(self.search_paths())
        self.latency(paths)

    # -------------------------------------------------------------- the package
    def packages(self):
        out = {}
        for deb in self.a.deb or []:
            installed_kb = subprocess.run(["dpkg-deb", "-f", deb, "Installed-Size"],
                                          capture_output=True, text=True).stdout.strip()
            out[Path(deb).name] = {"bytes": Path(deb).stat().st_size,
                                   "installed_kb": int(installed_kb or 0)}
        self.results["packages"] = out

    # -------------------------------------------------------------- report
    def report(self):
        r = self.results
        mb = lambda kb: (kb or 0) / 1024  # noqa: E731
        rows = [
            ("Start to READY=1, empty", f"{r['ready_empty_ms']:.0f} ms", f"<= {TARGET_READY_MS} ms"),
            ("Idle RSS, empty", f"{mb(r['idle_rss_kb']):.1f} MB", f"<= {TARGET_IDLE_MB} MB"),
            (f"Peak RSS (VmHWM), ingest of {r['resources']:,} resources and the read/search runs",
             f"{mb(r['loaded_hwm_kb']):.1f} MB", ""),
            (f"RSS right after the ingest of {r['resources']:,} resources",
             f"{mb(r['ingest_rss_kb']):.1f} MB", f"<= {TARGET_LOADED_MB} MB"),
            ("RSS right after the read/search runs", f"{mb(r['loaded_rss_kb']):.1f} MB",
             f"<= {TARGET_LOADED_MB} MB"),
            (f"RSS with {r['resources']:,} resources, {self.a.idle:g} s after the runs",
             f"{mb(r['settled_rss_kb']):.1f} MB", f"<= {TARGET_LOADED_MB} MB"),
            (f"Start to READY=1, {r['resources']:,} resources", f"{r['ready_loaded_ms']:.0f} ms",
             f"<= {TARGET_READY_MS} ms"),
            (f"Idle RSS after restart, {r['resources']:,} resources",
             f"{mb(r['restart_rss_kb']):.1f} MB", f"<= {TARGET_IDLE_MB} MB"),
            ("clinical.db + audit.db on disk", f"{r['db_bytes'] / 1e6:.0f} MB", ""),
        ]
        for name, p in r.get("packages", {}).items():
            rows.append((f"{name}", f"{p['bytes'] / 1e6:.2f} MB, installed {p['installed_kb'] / 1024:.1f} MB", ""))
        print("\n| Figure | clinic-gateway | Target |")
        print("|---|---|---|")
        for row in rows:
            print(f"| {row[0]} | {row[1]} | {row[2]} |")
        peak = mb(r["loaded_hwm_kb"])
        if peak:
            print(f"\nPeak RSS against SanteDB dCDR's stated 1 GB minimum: "
                  f"{peak:.1f} / {SANTEDB_MIN_RAM_MB} MB = {SANTEDB_MIN_RAM_MB / peak:.0f}x less")

    def data_bytes(self):
        d = self.config_file.parent / "data"
        return sum(f.stat().st_size for f in d.iterdir()
                   if f.is_file() and (f.name.startswith("clinical.db") or f.name.startswith("audit.db")))

    def run(self):
        rb.log(f"work dir {self.work}")
        try:
            r = self.results
            r["ready_empty_ms"] = self.start_timed()
            r["idle_rss_kb"], _ = self.rss_after_idle()
            self.ingest()
            r["resources"] = self.ingest_stats["stored"]
            r["ingest_rss_kb"], _ = self.memory_snapshot("after ingest")
            self.loaded_runs()
            r["loaded_rss_kb"], r["loaded_hwm_kb"] = self.memory_snapshot("after the runs")
            time.sleep(self.a.idle)  # then left alone, as the idle figures are
            r["settled_rss_kb"], _ = self.memory_snapshot("settled")
            self.stop_gateway()
            r["db_bytes"] = self.data_bytes()
            r["ready_loaded_ms"] = self.start_timed(self.config_file)
            r["restart_rss_kb"], _ = self.rss_after_idle()
            self.stop_gateway()
            self.packages()
            self.report()
        except Exception as e:  # noqa: BLE001 - report and fail
            self.errors.append(f"{type(e).__name__}: {e}")
            rb.log(f"ERROR: {type(e).__name__}: {e}")
        finally:
            rb.stop_children()
            if self.a.json:
                self.results["errors"] = self.errors
                Path(self.a.json).write_text(json.dumps(self.results, indent=2, default=str))
            if self.a.keep or self.errors:
                rb.log(f"kept work dir {self.work}")
            else:
                rb.shutil.rmtree(self.work, ignore_errors=True)
        for e in self.errors:
            rb.log(f"error: {e}")
        return 1 if self.errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default=os.environ.get("CG_GATEWAY"), help="clinic-gateway binary")
    ap.add_argument("--load", default=os.environ.get("CG_FHIR_LOAD"), help="fhir_load binary")
    ap.add_argument("--smoke", action="store_true", help="100 patients, short runs, for CI")
    ap.add_argument("--patients", type=int, help="Patients (x10 resources; default 10,000)")
    ap.add_argument("--idle", type=float, help="seconds idle before an RSS reading (default 5)")
    ap.add_argument("--deb", nargs="*", help="package files to report the size of")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    for k in ("gateway", "load"):
        if not getattr(a, k) or not os.access(getattr(a, k), os.X_OK):
            ap.error(f"--{k} (or its environment variable) must name an executable")
    # What SearchBench reads from its arguments.
    a.data_seed, a.bundle_patients, a.load_connections, a.worker_threads = 20261121, 50, 2, 32
    a.patients = a.patients or (100 if a.smoke else 10_000)
    a.idle = a.idle if a.idle is not None else (0.5 if a.smoke else 5.0)
    a.duration, a.warmup, a.connections = (0.3, 0.0, 2) if a.smoke else (3.0, 0.5, 8)
    signal.signal(signal.SIGTERM, rb.on_signal)
    signal.signal(signal.SIGINT, rb.on_signal)
    atexit.register(rb.stop_children)
    sys.exit(ApplianceBench(a).run())


if __name__ == "__main__":
    main()
