#!/usr/bin/python3
"""HL7v2 ingest over MLLP (issue 4): the gateway against python3-hl7's ACK-only server, in one run.

  gateway : clinic-gateway with [mllp] on port 0. Every ADT message is parsed, mapped to a
            FHIR Patient (conditional update by identifier), stored and indexed in clinical.db
            and archived with its ACK in the same transaction (one durable group commit), and
            only then answered AA.
  peer    : Debian python3-hl7's asyncio MLLP server (mllp_ack_peer.py) answering every message
            with the library's minimal ACK (MSA|AA|<MSH-10>) and storing nothing. The ratios
            are therefore the cost of durability (and of mapping), not of two equal designs.
  load    : mllp_load, closed loop (send, wait for the ACK, repeat) over 1 and over 8
            connections, the same messages (ADT^A28 by default, every one a new patient with
            its own control id and MRN) and the same durations against both; interleaved
            rounds, medians reported. Optionally one fixed message resent (duplicate path).
  /proc   : gateway (and peer) CPU time, bytes written and write calls per message, RSS.
  fsyncs  : with perf, fdatasync/fsync calls per file during one extra 1- and 8-connection run:
            fsyncs per second and messages per fsync (the group commit's batch size).
  checks  : after the runs, the Patients in the gateway (FHIR _summary=count) must equal the AA
            answers it gave (persisted = acknowledged), and the archive (clinical.db's
            `messages` table) must hold that many AA rows. A mismatch is an error.

`--event A01` sends admissions (PV1 visit) instead; until the gateway maps visits it answers
them AR 201, which mllp_load counts as errors, never as throughput.

Builds nothing. Binaries: --gateway / --load, else $CG_GATEWAY / $CG_MLLP_LOAD, else the
release build (build/release). Exit status non-zero only when something errored (a non-AA
answer, an I/O error, a failed check, a process dying or not stopping cleanly), never because
a target was missed. Exit 77 (skip) when python3-hl7 is missing.

Usage: /usr/bin/python3 tests/bench/mllp_bench.py [--gateway BIN] [--load BIN] [--event A28|A01]
           [--smoke] [--json FILE] [--keep]
"""

import argparse
import atexit
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_bench as rb  # noqa: E402  (gateway start/stop, tool runner, rounds, /proc helpers)

TARGET_RATE = {1: 400, 8: 2_000}  # messages/s persisted, issue 4
PEER = Path(__file__).resolve().parent / "mllp_ack_peer.py"
KEYS = ("rps", "p50_us", "p90_us", "p99_us", "max_us", "cpu_us_per_msg", "wbytes_per_msg",
        "wchar_per_msg", "syscw_per_msg", "ctxsw_per_msg")


def have_python3_hl7():
    return subprocess.run([sys.executable, "-c", "import hl7.mllp"], capture_output=True).returncode == 0


def ctx_switches(pid):
    """Voluntary + involuntary context switches of all threads of a process."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total


class MllpBench(rb.Bench):
    def __init__(self, args):
        super().__init__(args)
        self.peer = None
        self.peer_port = None
        self.expected_aa = 0      # AA answers the gateway gave to new messages (one Patient each)
        self.dup_runs_acked = 0   # duplicate runs: their one message is one Patient
        self.syscall_rows = []

    def extra_config(self):
        return ("[mllp]\nenabled = true\naddress = \"127.0.0.1\"\nport = 0\n"
                "[hl7.identifier_systems]\nKISUMU = \"http://kisumu.example/mrn\"\n")

    # ---------------------------------------------------------------- processes
    def start_peer(self):
        self.peer = rb.start([sys.executable, str(PEER), "--port", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        found = threading.Event()
        self.peer_out = []

        def pump():
            for line in self.peer.stdout:
                self.peer_out.append(line.rstrip())
                m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
                if m:
                    self.peer_port = int(m.group(1))
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(30) or self.peer.poll() is not None:
            raise RuntimeError("python3-hl7 peer did not start: " + " | ".join(self.peer_out[-5:]))
        rb.log(f"python3-hl7 peer pid {self.peer.pid} on 127.0.0.1:{self.peer_port}")

    def stop_peer(self):
        if self.peer and self.peer.poll() is None:
            self.peer.send_signal(signal.SIGTERM)
            try:
                self.peer.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.errors.append("python3-hl7 peer did not stop within 15 s of SIGTERM")

    # ---------------------------------------------------------------- runs
    def load_cmd(self, port, connections, label, duplicate=False, duration=None):
        a = self.a
        cmd = [a.load, "--port", port, "--event", a.event, "-c", connections,
               "-d", a.duration if duration is None else duration, "--warmup", a.warmup,
               "--timeout", 30, "--label", label]
        if a.messages:
            cmd += ["-n", a.messages]
        if duplicate:
            cmd.append("--duplicate")
        return cmd

    def run_tool(self, name, cmd, timeout):
        """The tool run, plus the target process's CPU time, writes and context switches per
        answered message from /proc (warm-up included on both sides of the division)."""
        proc = self.gw if name.startswith("gateway") else self.peer
        pid = proc.pid
        cpu0, io0, cs0 = rb.proc_cpu_s(pid), rb.proc_io(pid), ctx_switches(pid)
        res = super().run_tool(name, cmd, timeout)
        cpu1, io1, cs1 = rb.proc_cpu_s(pid), rb.proc_io(pid), ctx_switches(pid)
        if proc is self.gw:
            self.gw_alive()
        elif self.peer.poll() is not None:
            self.errors.append(f"python3-hl7 peer exited with {self.peer.returncode}")
        if not res:
            return res
        n = res.get("answered_total") or 0
        if n and cpu0 is not None and cpu1 is not None:
            res["cpu_us_per_msg"] = (cpu1 - cpu0) / n * 1e6
        if n and io0 and io1:
            # write_bytes counts pages when dirtied; cancelled_write_bytes those of files
            # truncated or deleted before writeback (SQLite's temp files), which never hit the disk.
            res["wbytes_per_msg"] = ((io1["write_bytes"] - io1["cancelled_write_bytes"])
                                     - (io0["write_bytes"] - io0["cancelled_write_bytes"])) / n
            res["wchar_per_msg"] = (io1["wchar"] - io0["wchar"]) / n
            res["syscw_per_msg"] = (io1["syscw"] - io0["syscw"]) / n
        if n and cs0 is not None and cs1 is not None:
            res["ctxsw_per_msg"] = (cs1 - cs0) / n
        if proc is self.gw:
            if res.get("duplicate"):
                self.dup_runs_acked += 1 if res.get("aa_total") else 0
            else:
                self.expected_aa += int(res.get("aa_total", 0))
        return res

    def ingest(self):
        runs = []
        for c in self.a.connections:
            runs.append((f"gateway_c{c}", self.load_cmd(self.mllp_port, c, f"gateway-c{c}"), 300))
            runs.append((f"peer_c{c}", self.load_cmd(self.peer_port, c, f"python3-hl7-c{c}"), 300))
        if self.a.duplicates:
            c = max(self.a.connections)
            runs.append((f"gateway_dup_c{c}", self.load_cmd(self.mllp_port, c, f"gateway-dup-c{c}", True), 300))
        return self.rounds("mllp", runs, KEYS)

    def fsync_census(self):
        """fdatasync/fsync calls by file during one extra run per connection count (perf
        tracepoints: negligible overhead), as fsyncs/s and messages per fsync."""
        perf = self.a.perf
        if not perf:
            self.notes.append("fsync census skipped (no perf)")
            return
        for c in self.a.connections:
            data = self.work / f"perf-fsync-c{c}.data"
            rec = rb.start([perf, "record", "-q", "-o", str(data), "-e", "syscalls:sys_enter_fdatasync",
                                    "-e", "syscalls:sys_enter_fsync", "-p", str(self.gw.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)  # perf attaches
            if rec.poll() is not None:
                self.notes.append(f"fsync census skipped: perf record failed: {rec.stderr.read()[:200]}")
                return
            fds = {}
            res = self.run_tool(f"gateway_fsync_c{c}",
                                self.load_cmd(self.mllp_port, c, f"gateway-fsync-c{c}",
                                              duration=self.a.census_duration), 300)
            for fd in Path(f"/proc/{self.gw.pid}/fd").iterdir():
                try:
                    fds[int(fd.name)] = os.readlink(fd)
                except OSError:
                    pass
            rec.send_signal(signal.SIGINT)
            try:
                rec.wait(timeout=30)
            except subprocess.TimeoutExpired:
                rec.kill()
                rec.wait()
            script = subprocess.run([perf, "script", "-i", str(data), "-F", "event,trace"],
                                    capture_output=True, text=True, timeout=120).stdout
            per_file = {}
            for line in script.splitlines():
                m = re.search(r"fd: (0x[0-9a-f]+|\d+)", line)
                if m:
                    fd = int(m.group(1), 0)
                    name = Path(fds.get(fd, f"fd {fd}")).name
                    per_file[name] = per_file.get(name, 0) + 1
            if not res:
                continue
            # The window perf saw: the whole run including its warm-up, plus attach slack.
            msgs = res["answered_total"]
            secs = res["seconds"] + self.a.warmup
            for name, count in sorted(per_file.items()):
                row = {"connections": c, "file": name, "fsyncs": count, "fsyncs_per_s": count / secs,
                       "messages": msgs, "messages_per_fsync": msgs / count if count else None}
                self.syscall_rows.append(row)
            self.results[f"fsync_census_c{c}"] = per_file

    # ---------------------------------------------------------------- checks
    def count_patients(self):
        conn = self.gw_conn()
        conn.request("GET", "/fhir/Patient?_summary=count",
                     headers={**self.auth(), "Accept": "application/fhir+json"})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status != 200:
            raise RuntimeError(f"Patient?_summary=count -> HTTP {resp.status}")
        return json.loads(body).get("total")

    def check_persisted(self):
        """Persisted = acknowledged, through FHIR search (while the gateway runs)."""
        expected = self.expected_aa + self.dup_runs_acked
        patients = self.count_patients()
        self.results["patients"] = patients
        self.results["expected_patients"] = expected
        ok = patients == expected
        rb.log(f"\n[check] Patients in the gateway: {patients}; AA answers to new messages: "
               f"{self.expected_aa} + {self.dup_runs_acked} duplicate-run message(s) = {expected} "
               + ("OK" if ok else "MISMATCH"))
        if not ok:
            self.errors.append(f"persisted != acknowledged: {patients} Patients for {expected} AA answers")

    def check_archive(self):
        """The archive's rows by answer code (its `messages` table in clinical.db), after the
        gateway stopped: the file is at rest."""
        db = self.work / f"gateway-{self.gw_starts}" / "data" / "clinical.db"
        expected = self.expected_aa + self.dup_runs_acked
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            rows = dict(conn.execute("SELECT ack_code, COUNT(*) FROM messages GROUP BY ack_code").fetchall())
            conn.close()
        except sqlite3.Error as e:
            self.errors.append(f"archive: {e}")
            return
        aa = rows.get("AA", 0) + rows.get("CA", 0)
        self.results["archive_rows"] = rows
        ok = aa == expected
        rb.log(f"[check] archived messages by MSA-1: {rows}; AA rows {aa}, expected {expected} "
               + ("OK" if ok else "MISMATCH"))
        if not ok:
            self.errors.append(f"the archive holds {aa} AA rows for {expected} AA answers")

    # ---------------------------------------------------------------- report
    def report_mllp(self, med):
        def f(v, nd=0):
            return "-" if v is None else f"{v:,.{nd}f}"

        def ms(v):
            return "-" if v is None else f"{v / 1e3:.2f}"

        rb.log("\n" + "=" * 104)
        rb.log(f"ADT^{self.a.event} over MLLP: medians of {self.a.rounds} interleaved round(s) of "
               f"{self.a.duration:g} s (+{self.a.warmup:g} s warm-up)")
        rb.log(f"{'run':<20} {'msgs/s':>8} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
               f"{'CPU us/msg':>10} {'B written/msg':>13} {'wr calls/msg':>12} {'ctxsw/msg':>9}")
        rb.log("-" * 104)
        for name, m in med.items():
            rb.log(f"{name:<20} {f(m.get('rps')):>8} {ms(m.get('p50_us')):>7} {ms(m.get('p90_us')):>7} "
                   f"{ms(m.get('p99_us')):>7} {ms(m.get('max_us')):>7} {f(m.get('cpu_us_per_msg')):>10} "
                   f"{f(m.get('wbytes_per_msg')):>13} {f(m.get('syscw_per_msg'), 1):>12} "
                   f"{f(m.get('ctxsw_per_msg'), 1):>9}")
        rb.log("-" * 104)
        for c in self.a.connections:
            g, p = med.get(f"gateway_c{c}"), med.get(f"peer_c{c}")
            if g and p and p.get("rps"):
                rb.log(f"c={c}: gateway/python3-hl7 rate {g['rps'] / p['rps']:.2f}, "
                       f"p50 {g['p50_us'] / p['p50_us']:.2f}x, p99 {g['p99_us'] / p['p99_us']:.2f}x "
                       "(the peer stores nothing: the ratio is the cost of durability)")
        for row in self.syscall_rows:
            mpf = row["messages_per_fsync"]
            rb.log(f"fsyncs c={row['connections']}: {row['file']:<22} {row['fsyncs']:>6} calls, "
                   f"{row['fsyncs_per_s']:>7.0f}/s, {'-' if mpf is None else f'{mpf:.2f}'} messages per fsync")
        rss, hwm = self.gw_mem()
        self.results["gateway_rss_kb"], self.results["gateway_hwm_kb"] = rss, hwm
        peer_rss = rb.proc_status_kb(self.peer.pid, "VmHWM") if self.peer else None
        self.results["peer_hwm_kb"] = peer_rss
        rb.log(f"memory: gateway RSS {f((rss or 0) / 1024, 1)} MB, peak {f((hwm or 0) / 1024, 1)} MB; "
               f"python3-hl7 peer peak {f((peer_rss or 0) / 1024, 1)} MB")
        rb.log("=" * 104)
        verdict = []
        for c, target in TARGET_RATE.items():
            g = med.get(f"gateway_c{c}")
            if g is None:
                continue
            hit = g["rps"] >= target
            verdict.append({"target": f">= {target:,} messages/s persisted over {c} connection(s)",
                            "measured": g["rps"], "hit": hit})
        self.results["verdict"] = verdict
        rb.log("targets (" + ("SMOKE run: too short to judge" if self.a.smoke else "full run") + "):")
        for v in verdict:
            rb.log(f"  {'HIT ' if v['hit'] else 'MISS'}  {v['target']:<46} measured {v['measured']:,.0f}")
        if self.notes:
            rb.log("notes: " + "; ".join(self.notes))
        if self.errors:
            rb.log("ERRORS:")
            for e in self.errors:
                rb.log(f"  - {e}")

    def run(self):
        rb.log(f"work dir {self.work}")
        self.loadavg("start")
        try:
            self.start_gateway()
            if self.mllp_port is None:
                raise RuntimeError("the gateway did not log 'HL7v2 MLLP listening on ADDR:PORT'")
            rb.log(f"gateway MLLP on 127.0.0.1:{self.mllp_port}")
            self.start_peer()
            med = self.ingest()
            if not self.a.smoke:
                self.fsync_census()
            self.loadavg("end")
            self.check_persisted()
            self.report_mllp(med)
            self.stop_peer()
            self.stop_gateway()
            self.check_archive()
        except Exception as e:  # noqa: BLE001 - report and fail
            self.errors.append(f"{type(e).__name__}: {e}")
            rb.log(f"ERROR: {e}")
        finally:
            rb.stop_children()
            if self.a.json:
                self.results["errors"] = self.errors
                self.results["fsyncs"] = self.syscall_rows
                Path(self.a.json).write_text(json.dumps(self.results, indent=2, default=str))
            if self.errors:
                rb.log("ERRORS:\n" + "\n".join(f"  - {e}" for e in self.errors))
            if self.a.keep or self.errors:
                rb.log(f"kept work dir {self.work}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        return 1 if self.errors else 0


def main():
    release = rb.REPO / "build" / "release"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default=os.environ.get("CG_GATEWAY", str(release / "gateway" / "clinic-gateway")))
    ap.add_argument("--load", default=os.environ.get("CG_MLLP_LOAD", str(release / "tests" / "bench" / "mllp_load")))
    ap.add_argument("--event", default="A28", choices=("A28", "A01"),
                    help="ADT^A28 (identity feed, default) or ADT^A01 (admission, needs the visit mapping)")
    ap.add_argument("--connections", default="1,8", help="comma-separated connection counts (default 1,8)")
    ap.add_argument("--duration", type=float, help="seconds per measured run (default 5, smoke 0.3)")
    ap.add_argument("--warmup", type=float, help="unrecorded warm-up seconds per run (default 1, smoke 0)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds, medians reported (default 3, smoke 1)")
    ap.add_argument("--messages", type=int, help="bound on measured messages per run (smoke: 100)")
    ap.add_argument("--no-duplicates", dest="duplicates", action="store_false",
                    help="skip the duplicate-path run (one message resent)")
    ap.add_argument("--perf", default=shutil.which("perf"), help="perf, for the fsync census (full run)")
    ap.add_argument("--census-duration", type=float, default=3.0, help="seconds of each fsync census run")
    ap.add_argument("--worker-threads", type=int, default=32, help="gateway http.worker_threads (unused by MLLP)")
    ap.add_argument("--smoke", action="store_true", help="a second or two of load, for CTest")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, logs)")
    a = ap.parse_args()
    if not have_python3_hl7():
        print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
        sys.exit(77)
    for k in ("gateway", "load"):
        if not os.access(getattr(a, k), os.X_OK):
            ap.error(f"--{k} (or its environment variable) must name an executable: {getattr(a, k)}")
    a.connections = [int(x) for x in a.connections.split(",")]
    if a.duration is None:
        a.duration = 0.3 if a.smoke else 5.0
    if a.warmup is None:
        a.warmup = 0.0 if a.smoke else 1.0
    if a.rounds is None:
        a.rounds = 1 if a.smoke else 3
    if a.messages is None and a.smoke:
        a.messages = 100
    signal.signal(signal.SIGTERM, rb.on_signal)
    signal.signal(signal.SIGINT, rb.on_signal)
    atexit.register(rb.stop_children)
    sys.exit(MllpBench(a).run())


if __name__ == "__main__":
    main()
