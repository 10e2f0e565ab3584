"""Start, talk to and stop a real clinic-gateway daemon from an integration test.

Shared by every Python integration test (stdlib only; run with Debian's /usr/bin/python3).
Everything is hermetic: the daemon listens on 127.0.0.1 with port 0 (the kernel picks a free
port, which we read back from the daemon's "listening on http://127.0.0.1:<PORT>/fhir" log
line), its config and data live in a temporary directory, and every wait is bounded.

    with GatewayProcess(binary) as gw:          # writes config, starts, waits for the port
        status, headers, body = gw.request("GET", "/fhir/metadata")
        gw.stop()                               # SIGTERM, returns the exit code
"""

from __future__ import annotations

import bz2
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Tests exit with this code to tell CTest "skipped" (SKIP_RETURN_CODE 77).
SKIP = 77

# Bounded waits. A debug or ASan build on a loaded 2-core machine is slow to start and to
# drain, so these are generous; a healthy daemon needs a fraction of them.
START_TIMEOUT_S = float(os.environ.get("CG_TEST_START_TIMEOUT", "60"))
STOP_TIMEOUT_S = float(os.environ.get("CG_TEST_STOP_TIMEOUT", "60"))
REQUEST_TIMEOUT_S = float(os.environ.get("CG_TEST_REQUEST_TIMEOUT", "120"))

# 127.0.0.1, or 0.0.0.0 (every interface, as the discovery test's daemon listens; still reached
# over 127.0.0.1).
_LISTENING = re.compile(r"listening on (https?)://(?:127\.0\.0\.1|0\.0\.0\.0):(\d+)/fhir")
_MLLP_LISTENING = re.compile(r"HL7v2 MLLP(?: over TLS)? listening on [0-9.]+:(\d+)")
_ATNA_LISTENING = re.compile(r"ATNA syslog listening on (.*)$")
_ATNA_RECEIVER = re.compile(r"(udp|tcp|tls) [0-9a-fA-F.:]+:(\d+)")


def default_shared_data() -> Path:
    """../shared/data relative to the repository root (CG_SHARED_DATA overrides)."""
    env = os.environ.get("CG_SHARED_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data"


def binary_from_argv(argv: list[str]) -> str:
    """The daemon binary: argv[1], else $CG_BINARY. Exits with a usage message otherwise."""
    path = argv[1] if len(argv) > 1 else os.environ.get("CG_BINARY", "")
    if not path:
        sys.exit(f"usage: {argv[0]} <path to clinic-gateway> (or set CG_BINARY)")
    if not os.access(path, os.X_OK):
        sys.exit(f"{argv[0]}: {path} is not an executable")
    return path


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))  # a JSON string is a valid TOML basic string


class GatewayError(AssertionError):
    pass


class GatewayProcess:
    """One daemon instance with its own temp directory, config, data dir and token.

    `overrides` maps a TOML section to keys that replace or extend the defaults, e.g.
    {"http": {"request_timeout_ms": 500}} or {"http.tls": {"certificate": "..."}}. The data
    dir survives restarts of the same instance (start() after stop()/kill()); the whole temp
    dir is removed by cleanup() unless CG_TEST_KEEP=1.

    `config_file` runs the daemon with that file as it is (e.g. one `clinic-gateway init`
    wrote) instead of writing one: then `token` and `data_dir` mean nothing. `launcher` runs
    the binary through another program, e.g. ["qemu-aarch64-static"] for an arm64 build.
    """

    def __init__(self, binary: str, overrides: dict | None = None, name: str = "integ",
                 config_file: Path | None = None, launcher: list[str] | None = None):
        self.binary = binary
        self.launcher = list(launcher or [])  # e.g. ["qemu-aarch64-static"] for another arch
        self.node_name = name  # [node] name: the source of the gateway's own audit records
        self.dir = Path(tempfile.mkdtemp(prefix=f"cg-{name}-"))
        self.data_dir = self.dir / "data"
        self.config_path = self.dir / "gateway.toml"
        self.log_path = self.dir / "gateway.log"
        self.token = secrets.token_urlsafe(24)
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.scheme = "http"
        self.mllp_port: int | None = None  # when the config enables [mllp]
        self.atna_ports: dict[str, int] = {}  # "udp"/"tcp"/"tls" → port, when [atna] is enabled
        self._log_lines: list[str] = []
        self._log_lock = threading.Lock()
        self._log_grew = threading.Condition(self._log_lock)
        if config_file is not None:
            self.config_path = Path(config_file)
            self._listening = threading.Event()
            self._reader = None
            return
        self._reader: threading.Thread | None = None
        self._listening = threading.Event()
        config = {
            "node": {"name": name, "data_dir": "data", "shutdown_drain_ms": 5000},
            "log": {"level": "info"},
            "http": {
                "address": "127.0.0.1",
                "port": 0,
                "body_limit_bytes": 16 * 1024 * 1024,
                "request_timeout_ms": 30000,
                "idle_timeout_ms": 60000,
            },
            "auth": {"token_sha256": [hashlib.sha256(self.token.encode()).hexdigest()]},
        }
        for section, keys in (overrides or {}).items():
            config.setdefault(section, {}).update(keys)
        lines = []
        for section, keys in config.items():
            lines.append(f"[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
            lines.append("")
        self.config_path.write_text("\n".join(lines))

    # ---- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT_S) -> "GatewayProcess":
        if self.proc and self.proc.poll() is None:
            raise GatewayError("daemon already running")
        self._listening.clear()
        self.port = None
        self._log_file = open(self.log_path, "a", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen(
            [*self.launcher, self.binary, "serve", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=self.dir, env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"})
        self._reader = threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):  # bounded wait for the "listening" line or exit
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise GatewayError(f"daemon exited with {self.proc.returncode} during start-up:\n"
                                   + self.log_tail())
            if time.monotonic() > deadline:
                self.kill()
                raise GatewayError(f"daemon did not log its port within {timeout}s:\n" + self.log_tail())
        return self

    def _read_stderr(self, proc: subprocess.Popen) -> None:
        for raw in proc.stderr:
            line = raw.decode("utf-8", errors="replace")
            with self._log_lock:
                self._log_lines.append(line)
                self._log_grew.notify_all()
            self._log_file.write(line)
            self._log_file.flush()
            m = _MLLP_LISTENING.search(line)
            if m:  # logged before the HTTP line, so it is known once start() returns
                self.mllp_port = int(m.group(1))
            m = _ATNA_LISTENING.search(line)
            if m:  # also logged before the HTTP line
                self.atna_ports = {t: int(p) for t, p in _ATNA_RECEIVER.findall(m.group(1))}
            if not self._listening.is_set():
                m = _LISTENING.search(line)
                if m:
                    self.scheme = m.group(1)
                    self.port = int(m.group(2))
                    self._listening.set()
        proc.stderr.close()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, wait (bounded) for exit; returns the exit code (SIGKILLs and raises on hang)."""
        if not self.proc:
            raise GatewayError("daemon was never started")
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise GatewayError(f"daemon did not exit within {timeout}s of SIGTERM:\n" + self.log_tail())
        self._finish_reader()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL (the crash test's power cut); waits for the process to be gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)
        self._finish_reader()

    def _finish_reader(self) -> None:
        if self._reader:
            self._reader.join(10)
            self._reader = None
        if getattr(self, "_log_file", None):
            self._log_file.close()
            self._log_file = None

    def alive(self) -> bool:
        return bool(self.proc) and self.proc.poll() is None

    def cleanup(self) -> None:
        if self.alive():
            self.kill()
        if os.environ.get("CG_TEST_KEEP") == "1":
            print(f"(kept {self.dir})")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "GatewayProcess":
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            print("---- daemon log (tail) ----\n" + self.log_tail(), file=sys.stderr)
        self.cleanup()

    # ---- observation -----------------------------------------------------------------

    def log_text(self) -> str:
        with self._log_lock:
            return "".join(self._log_lines)

    def wait_for_log(self, pattern: str, after: int = 0, timeout: float = START_TIMEOUT_S) -> bool:
        """Waits (bounded) until a log line from line number `after` on matches `pattern`
        (a regex); pass log_line_count() taken before an action to wait for what it logs."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._log_grew:
            while not any(regex.search(line) for line in self._log_lines[after:]):
                left = deadline - time.monotonic()
                if left <= 0 or not self.alive():
                    return False
                self._log_grew.wait(min(left, 1.0))
            return True

    def log_line_count(self) -> int:
        with self._log_lock:
            return len(self._log_lines)

    def log_tail(self, n: int = 40) -> str:
        with self._log_lock:
            return "".join(self._log_lines[-n:])

    def memory_kb(self) -> dict[str, int]:
        """VmRSS / VmHWM (and VmPeak) in kB from /proc/<pid>/status."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "VmPeak"):
                out[key] = int(value.split()[0])
        return out

    # ---- HTTP ------------------------------------------------------------------------

    def url(self, path: str = "/fhir") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def connection(self, timeout: float = REQUEST_TIMEOUT_S) -> "Connection":
        return Connection(self, timeout)

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                auth: bool = True, timeout: float = REQUEST_TIMEOUT_S):
        """One request on a fresh connection; returns (status, headers dict lower-cased, body bytes)."""
        with self.connection(timeout) as c:
            return c.request(method, path, body, headers, auth)

    def json(self, method: str, path: str, body=None, headers: dict | None = None,
             expect: int | tuple = 200):
        """Request with a JSON body (dict) and JSON answer; asserts the status; returns (parsed, headers)."""
        h = {"Accept": "application/fhir+json"}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/fhir+json"
        h.update(headers or {})
        status, rh, data = self.request(method, path, body, h)
        expected = expect if isinstance(expect, tuple) else (expect,)
        if status not in expected:
            raise GatewayError(f"{method} {path}: expected {expect}, got {status}: {data[:2000]!r}")
        return (json.loads(data) if data else None), rh


class Connection:
    """A keep-alive HTTP/1.1 connection to the daemon (one per client thread)."""

    def __init__(self, gw: GatewayProcess, timeout: float = REQUEST_TIMEOUT_S):
        self.gw = gw
        self.conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=timeout)

    def request(self, method: str, path: str, body=None, headers: dict | None = None, auth: bool = True):
        h = dict(headers or {})
        if auth:
            h.setdefault("Authorization", f"Bearer {self.gw.token}")
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.conn.request(method, path, body=body, headers=h)
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.will_close:
            self.conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def strip_meta_versions(resource):
    """A copy of a resource without meta.versionId / meta.lastUpdated (and an emptied meta)."""
    r = json.loads(json.dumps(resource))
    meta = r.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del r["meta"]
    return r


def first_difference(a, b, path: str = "") -> str | None:
    """A human-readable description of the first place where two JSON values differ."""
    if type(a) is not type(b):
        return f"{path or '/'}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return f"{path}/{k}: missing on the left, right has {json.dumps(b[k])[:200]}"
            if k not in b:
                return f"{path}/{k}: missing on the right, left has {json.dumps(a[k])[:200]}"
            d = first_difference(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: list length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}/{i}")
            if d:
                return d
        return None
    return None if a == b else f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"


class Checks:
    """Collects named check results so one test run reports every failure, not just the first."""

    def __init__(self):
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.passed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {name}")
        else:
            self.failures.append(f"{name}: {detail}")
            print(f"  FAIL  {name}: {detail}")
        sys.stdout.flush()
        return ok

    def warn(self, name: str, ok: bool, detail: str = "") -> bool:
        """A check whose failure is reported but does not fail the test (a debatable behaviour)."""
        if ok:
            return self.check(name, True)
        self.warnings.append(f"{name}: {detail}")
        print(f"  WARN  {name}: {detail}")
        sys.stdout.flush()
        return False

    def summary(self) -> int:
        print(f"{self.passed} checks passed, {len(self.failures)} failed, {len(self.warnings)} warnings")
        for w in self.warnings:
            print(f"WARNING: {w}")
        for f in self.failures:
            print(f"FAILED: {f}")
        return 1 if self.failures else 0


# ---- the Synthea corpus (shared by synthea_load_test.py and synthea_search_test.py) ----------

LOCATION = re.compile(r"^(?:.*/fhir/)?([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([^/]+))?$")
CONDITIONAL_REF = re.compile(r"^([A-Za-z]+)\?identifier=(.*)$")


def load_bundles(directory: Path):
    """The corpus files in load order: the 0-* batches (organizations first), then the patients."""
    files = sorted(directory.glob("*.json.bz2"))
    batches = [f for f in files if f.name.startswith("0-")]
    batches.sort(key=lambda f: (not f.name.startswith("0-hospital"), f.name))  # organizations first
    patients = [f for f in files if not f.name.startswith("0-")]
    return batches + patients


def rewrite_references(value, urn_map, ident_map, unresolved):
    """The submitted resource with references rewritten the way the server must rewrite them."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                if v in urn_map:
                    v = urn_map[v]
                else:
                    m = CONDITIONAL_REF.match(v)
                    if m:
                        target = ident_map.get((m.group(1), m.group(2)))
                        if target is None:
                            unresolved.add(v)
                        else:
                            v = target
                out[k] = v
            else:
                out[k] = rewrite_references(v, urn_map, ident_map, unresolved)
        return out
    if isinstance(value, list):
        return [rewrite_references(v, urn_map, ident_map, unresolved) for v in value]
    return value


def load_synthea(gw: "GatewayProcess", files):
    """POSTs every bundle in `files` (see load_bundles) on one keep-alive connection.

    Returns (submitted, urn_map, ident_map, entry_failures): `submitted` lists
    (resourceType, server id, submitted resource, bundle file name) per 2xx entry; `urn_map` maps
    each entry's fullUrl to `Type/id`; `ident_map` maps (type, "system|value") to `Type/id` for
    resolving conditional references; `entry_failures` describes every non-2xx entry or bundle.
    """
    submitted = []  # (resourceType, id, submitted resource, bundle name)
    urn_map, ident_map = {}, {}
    entry_failures = []
    with gw.connection() as conn:
        for f in files:
            bundle = json.loads(bz2.decompress(f.read_bytes()))
            t = time.monotonic()
            status, _, body = conn.request("POST", "/fhir", json.dumps(bundle).encode(),
                                           {"Content-Type": "application/fhir+json",
                                            "Accept": "application/fhir+json"})
            took = time.monotonic() - t
            if status != 200:
                entry_failures.append(f"{f.name}: HTTP {status}: {body[:500]!r}")
                print(f"  {f.name}: {bundle['type']} of {len(bundle['entry'])} -> HTTP {status} ({took:.2f}s)")
                continue
            resp = json.loads(body)
            print(f"  {f.name}: {bundle['type']} of {len(bundle['entry'])} -> {resp.get('type')} ({took:.2f}s)")
            if len(resp.get("entry", [])) != len(bundle["entry"]):
                entry_failures.append(f"{f.name}: {len(bundle['entry'])} entries in, "
                                      f"{len(resp.get('entry', []))} out")
                continue
            for i, (req, res) in enumerate(zip(bundle["entry"], resp["entry"])):
                st = res.get("response", {}).get("status", "")
                loc = res.get("response", {}).get("location", "")
                m = LOCATION.match(loc)
                if not st.startswith("2") or not m:
                    entry_failures.append(f"{f.name} entry {i}: status {st!r} location {loc!r} "
                                          f"outcome {json.dumps(res.get('response', {}).get('outcome'))[:300]}")
                    continue
                rtype, rid = m.group(1), m.group(2)
                resource = req["resource"]
                if rtype != resource["resourceType"]:
                    entry_failures.append(f"{f.name} entry {i}: location {loc} for a {resource['resourceType']}")
                    continue
                if req.get("fullUrl"):
                    urn_map[req["fullUrl"]] = f"{rtype}/{rid}"
                for ident in resource.get("identifier", []):
                    if "system" in ident and "value" in ident:
                        ident_map.setdefault((rtype, f"{ident['system']}|{ident['value']}"), f"{rtype}/{rid}")
                submitted.append((rtype, rid, resource, f.name))
    return submitted, urn_map, ident_map, entry_failures
