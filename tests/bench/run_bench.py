#!/usr/bin/python3
"""Side-by-side benchmark of clinic-gateway against its peers, in one run.

  read-by-id : GET /fhir/Patient/<id>, same ids, same tool, same concurrency, against the
               gateway and against nginx serving the very same JSON as static files.
  create     : POST /fhir/Patient with 32 clients against the gateway (201 only after the
               durable group commit) versus sqlite_insert_peer inserting the same JSON with the
               same durability (WAL, synchronous=FULL, one transaction per resource; 32 threads
               each with its own connection, and 1 thread), plus the peer's group-commit mode
               (one writer, many clients) to show what group commit buys.
  memory     : the gateway's RSS after loading the Synthea bundles, and its peak RSS (VmHWM).

Builds nothing: binaries come from arguments or the environment (CG_GATEWAY, CG_FHIR_LOAD,
CG_SQLITE_PEER, CG_NGINX). Everything it starts is stopped on exit. The exit status is non-zero
only when something errored (a tool failed, a request got a non-2xx, a process died), never
because a target was missed.

Usage: tests/bench/run_bench.py --gateway BIN --load BIN --peer BIN [--smoke] [--json FILE]
"""

import argparse
import atexit
import bz2
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

TARGET_READ_RPS = 10_000
TARGET_CREATE_RPS = 2_000
TARGET_RSS_MB = 64

PATIENT_BODY = {
    "resourceType": "Patient",
    "identifier": [{"system": "urn:oid:1.3.6.1.4.1.21367.13.20.1000", "value": "{{UNIQUE}}"}],
    "active": True,
    "name": [{"use": "official", "family": "Benchmark", "given": ["Amina", "Wanjiru"]}],
    "telecom": [{"system": "phone", "value": "+254 700 000 000", "use": "mobile"}],
    "gender": "female",
    "birthDate": "1987-06-14",
    "address": [{"use": "home", "line": ["Plot 12, Moi Avenue"], "city": "Nakuru",
                 "district": "Nakuru East", "postalCode": "20100", "country": "KE"}],
    "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                  "code": "M", "display": "Married"}]},
}

_children = []  # Popen objects we started, stopped in reverse order on exit


def log(msg):
    print(msg, flush=True)


def stop_children():
    for p in reversed(_children):
        if p.poll() is None:
            try:
                p.terminate()
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
    _children.clear()


def on_signal(signum, _frame):
    stop_children()
    sys.exit(128 + signum)


def start(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    _children.append(p)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children_of(pid):
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]
    except OSError:
        return []


def proc_cpu_s(pid):
    """utime + stime of a process in seconds."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_io(pid):
    """/proc/<pid>/io as a dict (rchar, wchar, syscr, syscw, read_bytes, write_bytes, ...)."""
    try:
        return {k: int(v) for k, v in (line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())}
    except (OSError, ValueError):
        return {}


def parse_result(text):
    """The last 'RESULT k=v ...' line of a tool's output as a dict (numbers converted)."""
    res = None
    for line in text.splitlines():
        if line.startswith("RESULT "):
            res = {}
            for kv in line[7:].split():
                k, _, v = kv.partition("=")
                try:
                    res[k] = float(v) if re.fullmatch(r"-?[0-9.]+", v) else v
                except ValueError:
                    res[k] = v
    return res


class Bench:
    def __init__(self, args):
        self.a = args
        self.errors = []  # things that went wrong (make the run fail)
        self.notes = []
        self.rows = []    # (section, metric, gateway, peer, peer_name, higher_is_better, unit)
        self.results = {}
        self.work = Path(tempfile.mkdtemp(prefix="cg-bench-"))
        self.work.chmod(0o711)  # nginx workers run as an unprivileged user when we are root
        self.gw = None
        self.gw_port = None
        self.token = secrets.token_hex(24)

    # ---------------------------------------------------------------- helpers
    def run_tool(self, name, cmd, timeout):
        log(f"\n$ {' '.join(str(c) for c in cmd)}")
        try:
            cp = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.errors.append(f"{name}: timed out after {timeout} s")
            return None
        sys.stdout.write(cp.stdout)
        if cp.stderr.strip():
            sys.stdout.write(cp.stderr)
        res = parse_result(cp.stdout)
        if res is None:
            self.errors.append(f"{name}: no RESULT line (exit {cp.returncode})")
            return None
        if cp.returncode != 0:
            self.errors.append(f"{name}: had errors (exit {cp.returncode})")
        self.results[name] = res
        return res

    def gw_conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.gw_port, timeout=120)

    def auth(self):
        return {"Authorization": f"Bearer {self.token}"}

    def gw_alive(self):
        if self.gw.poll() is not None:
            self.errors.append(f"gateway exited unexpectedly with status {self.gw.returncode}")
            return False
        return True

    # ---------------------------------------------------------------- gateway
    def extra_config(self):
        """TOML appended to the gateway's config (subclasses enable listeners here)."""
        return ""

    def start_gateway(self):
        self.gw_starts = getattr(self, "gw_starts", 0) + 1
        gw_dir = self.work / f"gateway-{self.gw_starts}"
        gw_dir.mkdir()
        digest = subprocess.run([self.a.gateway, "hash-token", self.token], capture_output=True,
                                text=True, check=True).stdout.strip()
        (gw_dir / "gateway.toml").write_text(f"""[node]
data_dir = "data"
[log]
level = "info"
[http]
address = "127.0.0.1"
port = 0
worker_threads = {self.a.worker_threads}
[auth]
token_sha256 = ["{digest}"]
""" + self.extra_config())
        self.gw_log = open(gw_dir / "stderr.log", "w+")
        self.gw = start([self.a.gateway, "serve", "--config", str(gw_dir / "gateway.toml")],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = threading.Event()
        self.mllp_port = None

        def pump():
            for line in self.gw.stderr:
                self.gw_log.write(line)
                self.gw_log.flush()
                m = re.search(r"HL7v2 MLLP(?: over TLS)? listening on [0-9.]+:(\d+)", line)
                if m:  # logged before the HTTP line
                    self.mllp_port = int(m.group(1))
                m = re.search(r"listening on https?://[^:/\s]+:(\d+)/fhir", line)
                if m and not found.is_set():
                    self.gw_port = int(m.group(1))
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60) or self.gw.poll() is not None:
            raise RuntimeError("gateway did not report 'listening on http://...:PORT/fhir' "
                               f"(see {gw_dir / 'stderr.log'})")
        log(f"gateway pid {self.gw.pid} listening on 127.0.0.1:{self.gw_port}, data in {gw_dir}")

    def gw_mem(self):
        if self.gw.poll() is not None:
            return (None, None)
        return (proc_status_kb(self.gw.pid, "VmRSS"), proc_status_kb(self.gw.pid, "VmHWM"))

    # ---------------------------------------------------------------- synthea
    def load_synthea(self):
        d = Path(self.a.synthea)
        files = sorted(d.glob("*.json.bz2")) if d.is_dir() else []
        if not files:
            log(f"\n[synthea] skipped: no *.json.bz2 bundles in {d}")
            self.notes.append(f"Synthea load skipped (no bundles in {d})")
            return
        batch = [f for f in files if f.name.startswith("0-")]
        patients = [f for f in files if not f.name.startswith("0-")]
        if self.a.smoke:
            patients = patients[:1]
        files = batch + patients
        log(f"\n[synthea] POSTing {len(files)} bundles ({len(batch)} batch files first) to /fhir"
            + (" -- patient transactions sent as batch (workaround mode)" if self.a.synthea_as_batch else ""))
        rss0, _ = self.gw_mem()
        t0 = time.monotonic()
        total = stored = 0
        rejected = {}  # "status: diagnostics" -> count
        for fi, f in enumerate(files):
            body = bz2.decompress(f.read_bytes())
            doc = json.loads(body)
            n = len(doc.get("entry", []))
            if self.a.synthea_as_batch and doc.get("type") == "transaction":
                # Workaround mode: same resources, same sizes, but each entry independent.
                doc["type"] = "batch"
                body = json.dumps(doc).encode()
            total += n
            try:
                conn = self.gw_conn()
                conn.request("POST", "/fhir", body=body,
                             headers={**self.auth(), "Content-Type": "application/fhir+json",
                                      "Accept": "application/fhir+json", "Prefer": "return=minimal"})
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
            except (OSError, http.client.HTTPException) as e:
                key = f"{f.name}: {type(e).__name__}: {e}"
                rejected[key] = rejected.get(key, 0) + n
                try:
                    self.gw.wait(timeout=10)  # did it die? (a crashing process takes a moment)
                except subprocess.TimeoutExpired:
                    continue
                self.errors.append(f"gateway died while loading {f.name} (exit status {self.gw.returncode})")
                rest = files[fi + 1:]
                if rest:
                    m = sum(len(json.loads(bz2.decompress(r.read_bytes())).get("entry", [])) for r in rest)
                    total += m
                    rejected[f"{len(rest)} later bundles not attempted (gateway gone)"] = m
                break
            try:
                out = json.loads(data)
            except ValueError:
                out = None
            if resp.status != 200 or not isinstance(out, dict):
                diag = ""
                if isinstance(out, dict):
                    diag = "; ".join(i.get("diagnostics", "") for i in out.get("issue", []))
                key = f"whole bundle HTTP {resp.status}: {diag or data[:200]!r}"
                rejected[key] = rejected.get(key, 0) + n
                continue
            for e in out.get("entry", []):
                r = e.get("response", {})
                st = str(r.get("status", ""))
                if st[:1] == "2" and re.search(r"(^|/)[A-Z][A-Za-z]+/[^/]+/_history/[1-9]", r.get("location", "")):
                    stored += 1
                else:
                    diag = "; ".join(i.get("diagnostics", "") for i in r.get("outcome", {}).get("issue", []))
                    key = f"entry {st or '?'} {diag or ('location ' + repr(r.get('location')))}"
                    rejected[key] = rejected.get(key, 0) + 1
        secs = time.monotonic() - t0
        rss, hwm = self.gw_mem()
        self.synthea = {"as_batch": bool(self.a.synthea_as_batch), "bundles": len(files), "entries": total, "stored": stored, "rejected": rejected,
                        "seconds": secs, "rss_before_kb": rss0, "rss_after_kb": rss, "hwm_after_kb": hwm}
        self.results["synthea"] = self.synthea
        log(f"[synthea] {len(files)} bundles, {total} entries, {stored} stored in {secs:.2f} s "
            f"= {stored / max(secs, 1e-9):.0f} resources/s; RSS before {rss0} kB, after {rss} kB, "
            f"peak so far {hwm} kB")
        for k, v in rejected.items():
            self.errors.append(f"synthea: {v} entries not stored: {k}")
            log(f"[synthea] NOT STORED x{v}: {k}")
        if self.gw.poll() is not None:
            log("[synthea] the gateway died during the load; restarting it on a fresh data dir "
                "so the read and create benchmarks still run")
            self.start_gateway()

    # ---------------------------------------------------------------- seed + nginx
    def seed(self):
        n = self.a.seed
        body_file = self.work / "patient.json"
        body_file.write_text(json.dumps(PATIENT_BODY))
        self.body_file = body_file
        locs = self.work / "locations.txt"
        res = self.run_tool("seed", [self.a.load, "--url", f"http://127.0.0.1:{self.gw_port}", "-m", "POST",
                                     "-p", "/fhir/Patient", "-b", body_file, "-H", f"Authorization: Bearer {self.token}",
                                     "-c", "32", "-t", "2", "-d", "0", "-n", n, "--save-locations", locs,
                                     "--label", "seed"], timeout=300)
        if res is None:
            raise RuntimeError("seeding failed")
        ids = []
        for line in locs.read_text().splitlines():
            m = re.search(r"/Patient/([A-Za-z0-9\-.]{1,64})", line)
            if m:
                ids.append(m.group(1))
        if len(ids) < n:
            raise RuntimeError(f"seeding: only {len(ids)} of {n} creates returned a Location")
        root = self.work / "docroot"
        pdir = root / "fhir" / "Patient"
        pdir.mkdir(parents=True)
        for d in (root, root / "fhir", pdir):
            d.chmod(0o755)
        conn = self.gw_conn()
        paths = []
        for rid in ids:
            conn.request("GET", f"/fhir/Patient/{rid}", headers={**self.auth(), "Accept": "application/fhir+json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise RuntimeError(f"seeding: GET Patient/{rid} -> HTTP {resp.status}")
            (pdir / rid).write_bytes(data)
            (pdir / rid).chmod(0o644)
            paths.append(f"/fhir/Patient/{rid}")
        conn.close()
        self.paths_file = self.work / "paths.txt"
        self.paths_file.write_text("\n".join(paths) + "\n")
        self.docroot = root
        sizes = [(pdir / r).stat().st_size for r in ids]
        log(f"[seed] {len(ids)} Patients created and written to {pdir} (mean {sum(sizes) / len(sizes):.0f} bytes)")

    def start_nginx(self):
        prefix = self.work / "nginx"
        (prefix / "logs").mkdir(parents=True)
        (prefix / "tmp").mkdir()
        self.ng_port = free_port()
        conf = prefix / "nginx.conf"
        conf.write_text(f"""worker_processes 2;
error_log {prefix}/logs/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  types {{ }}
  default_type application/fhir+json;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path {prefix}/tmp;
  proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp;
  uwsgi_temp_path {prefix}/tmp;
  scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{self.ng_port};
    root {self.docroot};
  }}
}}
""")
        self.ng = start([self.a.nginx, "-c", str(conf), "-p", str(prefix), "-g", "daemon off;"],
                        stdout=subprocess.DEVNULL, stderr=open(prefix / "logs" / "stderr.log", "w"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.ng.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.ng.returncode}; see {prefix}/logs")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.ng_port, timeout=2)
                first = self.paths_file.read_text().split("\n", 1)[0]
                c.request("GET", first)
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    log(f"nginx pid {self.ng.pid} serving {self.docroot} on 127.0.0.1:{self.ng_port}")
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not come up")

    def nginx_hwm_kb(self):
        pids = [self.ng.pid] + children_of(self.ng.pid)
        return sum(proc_status_kb(p, "VmHWM") or 0 for p in pids), len(pids)

    # ---------------------------------------------------------------- benchmarks
    def rounds(self, name, runs, keys=("rps", "p50_us", "p99_us")):
        """Runs each (name, cmd, timeout) of `runs` once per round, alternating the order
        every round so that drifting background load does not favour one side; keeps every
        round and stores the median of each metric in `keys` under `name_<runname>`."""
        per = {n: [] for n, _, _ in runs}
        for r in range(self.a.rounds):
            order = runs if r % 2 == 0 else list(reversed(runs))
            for n, cmd, timeout in order:
                res = self.run_tool(f"{n}#{r + 1}", cmd, timeout)
                if res:
                    per[n].append(res)
                self.gw_alive()
        med = {}
        for n, lst in per.items():
            if not lst:
                continue
            m = {}
            for k in keys:
                if any(k not in x for x in lst):
                    continue
                vals = sorted(x[k] for x in lst)
                m[k] = vals[len(vals) // 2]
                m[k + "_all"] = [x[k] for x in lst]
            for k in ("hwm_kb",):
                if k in lst[0]:
                    m[k] = max(x[k] for x in lst)
            self.results[n] = m
            med[n] = m
        return med

    def read_bench(self):
        c, d, w = self.a.connections, self.a.duration, self.a.warmup
        common = ["-m", "GET", "--paths-file", self.paths_file, "-H", f"Authorization: Bearer {self.token}",
                  "-c", c, "-t", self.a.load_threads, "-d", d, "--warmup", w]
        med = self.rounds("read", [
            ("read_gateway", [self.a.load, "--url", f"http://127.0.0.1:{self.gw_port}", *common,
                              "--label", "read-gateway"], d + w + 120),
            ("read_nginx", [self.a.load, "--url", f"http://127.0.0.1:{self.ng_port}", *common,
                            "--label", "read-nginx"], d + w + 120),
        ])
        g, n = med.get("read_gateway"), med.get("read_nginx")
        if g and n:
            self.rows += [
                ("read-by-id", "requests/s", g["rps"], n["rps"], "nginx", True, ""),
                ("read-by-id", "p50 latency (ms)", g["p50_us"] / 1e3, n["p50_us"] / 1e3, "nginx", False, ""),
                ("read-by-id", "p99 latency (ms)", g["p99_us"] / 1e3, n["p99_us"] / 1e3, "nginx", False, ""),
            ]
        if self.a.wrk and shutil.which(self.a.wrk) and not self.a.smoke:
            lua = self.work / "paths.lua"
            paths = self.paths_file.read_text().split()
            lua.write_text("local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
                           "local i = 0\n"
                           f'wrk.headers["Authorization"] = "Bearer {self.token}"\n'
                           "request = function()\n  i = i % #paths + 1\n"
                           "  return wrk.format('GET', paths[i])\nend\n")
            for name, port in (("gateway", self.gw_port), ("nginx", self.ng_port)):
                cmd = [self.a.wrk, "-t", str(self.a.load_threads), "-c", str(c), "-d", f"{max(1, int(d))}s",
                       "--latency", "-s", str(lua), f"http://127.0.0.1:{port}"]
                log(f"\n$ {' '.join(cmd)}   (cross-check)")
                cp = subprocess.run(cmd, capture_output=True, text=True, timeout=d + 60)
                sys.stdout.write(cp.stdout)
                m = re.search(r"Requests/sec:\s+([0-9.]+)", cp.stdout)
                bad = re.search(r"Non-2xx or 3xx responses: (\d+)", cp.stdout)
                if m:
                    self.results[f"wrk_{name}"] = {"rps": float(m.group(1)),
                                                   "non2xx": int(bad.group(1)) if bad else 0}
                    if bad:
                        self.errors.append(f"wrk against {name}: {bad.group(1)} non-2xx responses")
            self.gw_alive()

    def create_bench(self):
        c, d, w = self.a.connections, self.a.duration, self.a.warmup
        runs = [("create_gateway", [self.a.load, "--url", f"http://127.0.0.1:{self.gw_port}", "-m", "POST",
                                    "-p", "/fhir/Patient", "-b", self.body_file,
                                    "-H", f"Authorization: Bearer {self.token}", "-H", "Prefer: return=minimal",
                                    "-c", c, "-t", self.a.load_threads, "-d", d, "--warmup", w,
                                    "--label", "create-gateway"], d + w + 180)]
        for name, mode, threads in (("create_sqlite_32", "per-insert", c), ("create_sqlite_1", "per-insert", 1),
                                    ("create_sqlite_group", "group", c)):
            db = self.work / f"peer-{name}" / "peer.db"
            db.parent.mkdir(exist_ok=True)
            runs.append((name, [self.a.peer, "--db", db, "--body-file", self.body_file, "--mode", mode,
                                "--threads", threads, "-d", d, "--label", name], d + 180))
        med = self.rounds("create", runs)
        g = med.get("create_gateway")
        if g:
            for name, label in (("create_sqlite_32", f"SQLite {c} thr, 1 txn/insert"),
                                ("create_sqlite_1", "SQLite 1 thr, 1 txn/insert"),
                                ("create_sqlite_group", f"SQLite {c} thr, group commit")):
                p = med.get(name)
                if not p:
                    continue
                self.rows += [
                    ("create", "resources/s", g["rps"], p["rps"], label, True, ""),
                    ("create", "p50 latency (ms)", g["p50_us"] / 1e3, p["p50_us"] / 1e3, label, False, ""),
                    ("create", "p99 latency (ms)", g["p99_us"] / 1e3, p["p99_us"] / 1e3, label, False, ""),
                ]

    # ---------------------------------------------------------------- report
    def report(self):
        rss_end, hwm_end = self.gw_mem()
        self.results["gateway_rss_end_kb"] = rss_end
        self.results["gateway_hwm_kb"] = hwm_end
        ng_hwm, ng_procs = self.nginx_hwm_kb() if getattr(self, "ng", None) else (None, 0)
        self.results["nginx_hwm_kb"] = ng_hwm
        syn = getattr(self, "synthea", None)

        def fmt(v):
            if v is None:
                return "-"
            if isinstance(v, float) and v < 100:
                return f"{v:.2f}"
            return f"{v:,.0f}"

        log("\n" + "=" * 100)
        log(f"medians of {self.a.rounds} interleaved round(s) of {self.a.duration:g} s, {self.a.connections} connections"
            f" / threads; gw/peer > 1 means the gateway is higher (faster for rates, slower for latencies)")
        log(f"{'benchmark':<11} {'metric':<18} {'gateway':>11} {'peer':>11}  {'gw/peer':>8}  peer")
        log("-" * 100)
        for sec, metric, gv, pv, pname, _hib, _u in self.rows:
            ratio = gv / pv if pv else float("nan")
            log(f"{sec:<11} {metric:<18} {fmt(gv):>11} {fmt(pv):>11}  {ratio:>8.2f}  {pname}")
        mb = lambda kb: None if kb is None else kb / 1024
        if syn:
            log(f"{'memory':<11} {'RSS after Synthea':<18} {fmt(mb(syn['rss_after_kb'])):>11} {'':>11}  {'':>8}  "
                f"MB; {syn['stored']} of {syn['entries']} resources stored in {syn['seconds']:.1f} s")
        log(f"{'memory':<11} {'peak RSS (MB)':<18} {fmt(mb(hwm_end)):>11} {fmt(mb(ng_hwm)):>11}  "
            f"{(hwm_end / ng_hwm if hwm_end and ng_hwm else float('nan')):>8.2f}  nginx ({ng_procs} processes, summed)")
        for name in ("create_sqlite_32", "create_sqlite_group"):
            if name in self.results:
                log(f"{'memory':<11} {'peak RSS (MB)':<18} {'':>11} {fmt(self.results[name]['hwm_kb'] / 1024):>11}  "
                    f"{'':>8}  {name}")
        log("=" * 100)

        verdict = []
        g_read = self.results.get("read_gateway", {}).get("rps")
        g_create = self.results.get("create_gateway", {}).get("rps")
        rss_syn = syn["rss_after_kb"] / 1024 if syn and syn.get("rss_after_kb") else None
        syn_complete = bool(syn) and syn["stored"] == syn["entries"] and not syn["rejected"]
        verdict.append(("read-by-id >= 10,000 req/s", g_read, g_read is not None and g_read >= TARGET_READ_RPS))
        verdict.append(("create >= 2,000 resources/s (32 clients)", g_create,
                        g_create is not None and g_create >= TARGET_CREATE_RPS))
        verdict.append(("RSS <= 64 MB after Synthea load", rss_syn,
                        None if not syn_complete else (rss_syn is not None and rss_syn <= TARGET_RSS_MB)))
        log("targets (" + ("SMOKE run: durations too short to judge" if self.a.smoke else "full run") + "):")
        for what, val, ok in verdict:
            tag = "HIT " if ok else ("MISS" if ok is not None else "N/A ")
            extra = "" if ok is not None else "  (Synthea load incomplete: figure is not the target's)"
            log(f"  {tag}  {what:<42} measured {fmt(val)}{extra}")
        self.results["verdict"] = [{"target": w, "measured": v, "hit": ok} for w, v, ok in verdict]
        if self.notes:
            log("notes: " + "; ".join(self.notes))
        if self.errors:
            log("ERRORS:")
            for e in self.errors:
                log(f"  - {e}")

    def stop_gateway(self):
        if self.gw and self.gw.poll() is None:
            t0 = time.monotonic()
            self.gw.send_signal(signal.SIGTERM)
            try:
                rc = self.gw.wait(timeout=30)
                log(f"gateway stopped on SIGTERM with status {rc} in {time.monotonic() - t0:.2f} s")
                if rc != 0:
                    self.errors.append(f"gateway exited {rc} on SIGTERM")
            except subprocess.TimeoutExpired:
                self.errors.append("gateway did not stop within 30 s of SIGTERM")

    def loadavg(self, when):
        try:
            la = Path("/proc/loadavg").read_text().split()[:3]
        except OSError:
            return
        self.results[f"loadavg_{when}"] = " ".join(la)
        log(f"[{when}] load average {' '.join(la)} on {os.cpu_count()} CPUs"
            + ("  (other work on this machine: figures will be noisy)" if float(la[0]) > (os.cpu_count() or 1) else ""))

    def run(self):
        log(f"work dir {self.work}")
        self.loadavg("start")
        try:
            self.start_gateway()
            self.load_synthea()
            self.seed()
            self.start_nginx()
            self.read_bench()
            self.create_bench()
            self.loadavg("end")
            self.report()
            self.stop_gateway()
        except Exception as e:  # noqa: BLE001 - report and fail
            self.errors.append(f"{type(e).__name__}: {e}")
            log(f"ERROR: {e}")
        finally:
            stop_children()
            if self.a.json:
                self.results["errors"] = self.errors
                self.results["rows"] = [dict(zip(("section", "metric", "gateway", "peer", "peer_name"), r[:5]))
                                        for r in self.rows]
                Path(self.a.json).write_text(json.dumps(self.results, indent=2, default=str))
            if self.a.keep or self.errors:
                log(f"kept work dir {self.work}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        return 1 if self.errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default=os.environ.get("CG_GATEWAY"), help="clinic-gateway binary")
    ap.add_argument("--load", default=os.environ.get("CG_FHIR_LOAD"), help="fhir_load binary")
    ap.add_argument("--peer", default=os.environ.get("CG_SQLITE_PEER"), help="sqlite_insert_peer binary")
    ap.add_argument("--nginx", default=os.environ.get("CG_NGINX", shutil.which("nginx") or "/usr/sbin/nginx"))
    ap.add_argument("--wrk", default=shutil.which("wrk"), help="wrk for a GET cross-check (full run only)")
    ap.add_argument("--synthea", default=os.environ.get("CG_SYNTHEA", str(REPO.parent / "shared" / "data" / "synthea")))
    ap.add_argument("--synthea-as-batch", action="store_true",
                    help="POST the Synthea patient transactions as batch Bundles (workaround mode; "
                         "the RSS figure is then labelled as such)")
    ap.add_argument("--smoke", action="store_true", help="tiny durations (~10 s in all), for CI")
    ap.add_argument("--duration", type=float, help="seconds per measured run (default 5, smoke 0.5)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds per comparison; medians reported "
                                                "(default 3, smoke 1)")
    ap.add_argument("--warmup", type=float, help="unrecorded warm-up seconds per run (default 2, smoke 0)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--load-threads", type=int, default=2)
    ap.add_argument("--worker-threads", type=int, default=32, help="gateway http.worker_threads")
    ap.add_argument("--seed", type=int, help="Patients created for the read test (default 1000, smoke 100)")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()
    for k in ("gateway", "load", "peer"):
        if not getattr(a, k) or not os.access(getattr(a, k), os.X_OK):
            ap.error(f"--{k} (or its environment variable) must name an executable")
    if a.duration is None:
        a.duration = 0.5 if a.smoke else 5.0
    if a.rounds is None:
        a.rounds = 1 if a.smoke else 3
    if a.warmup is None:
        a.warmup = 0.0 if a.smoke else 2.0
    if a.seed is None:
        a.seed = 100 if a.smoke else 1000
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    atexit.register(stop_children)
    sys.exit(Bench(a).run())


if __name__ == "__main__":
    main()
