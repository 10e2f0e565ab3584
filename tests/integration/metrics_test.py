#!/usr/bin/python3
"""GET /health, /health/live, /health/ready and /metrics of a real daemon.

    /usr/bin/python3 metrics_test.py <clinic-gateway>

Starts the daemon with the MLLP listener and the ATNA syslog receivers (UDP, TCP) on free
ports, checks the three health documents (application/health+json in the shape of the IETF
health check draft: status, checks keyed "component:measurement"), then scrapes /metrics
before and after a FHIR write and two reads, an HL7v2 ADT^A28 over MLLP (plain socket
framing) and an audit record over UDP syslog, and checks the counters moved by exactly that.
Every scrape is parsed by a strict parser of the Prometheus text format 0.0.4 written here
(HELP/TYPE once per family and before its samples, label escaping, no duplicate series,
histogram buckets cumulative with le="+Inf" equal to _count); when `promtool` (Debian's
prometheus package) is installed, `promtool check metrics` must accept the scrape too.
"""

import json
import math
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

# ---- a strict parser of the text exposition format 0.0.4 -----------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
HELP_LINE = re.compile(rf"^# HELP ({NAME}) (.*)$")
TYPE_LINE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SAMPLE_LINE = re.compile(rf"^({NAME})(\{{.*\}})? (\S+)( -?\d+)?$")
LABEL = re.compile(rf'({LABEL_NAME})="((?:[^"\\\n]|\\[\\"n])*)"')


class ExpositionError(Exception):
    pass


def parse_value(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ExpositionError(f"not a number: {text!r}")
    return float(text)


def parse_labels(text: str) -> tuple:
    if not text:
        return ()
    inner = text[1:-1]
    labels, at = [], 0
    while at < len(inner):
        m = LABEL.match(inner, at)
        if not m:
            raise ExpositionError(f"bad label set: {text!r}")
        value = re.sub(r'\\(.)', lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        labels.append((m.group(1), value))
        at = m.end()
        if at < len(inner):
            if inner[at] != ",":
                raise ExpositionError(f"labels not separated by commas: {text!r}")
            at += 1
            if at == len(inner):
                raise ExpositionError(f"trailing comma: {text!r}")
    names = [n for n, _ in labels]
    if len(set(names)) != len(names):
        raise ExpositionError(f"a label twice: {text!r}")
    return tuple(labels)


def family_of(sample_name: str, types: dict) -> str:
    if sample_name in types:
        return sample_name
    for suffix in ("_bucket", "_sum", "_count"):
        base = sample_name[: -len(suffix)]
        if sample_name.endswith(suffix) and types.get(base) == "histogram":
            return base
    raise ExpositionError(f"sample {sample_name} before its # TYPE line")


def parse_exposition(text: str) -> dict:
    """{(name, labels tuple): value}; raises ExpositionError on anything the format forbids."""
    if not text.endswith("\n"):
        raise ExpositionError("the text does not end with a line feed")
    helps, types, samples = {}, {}, {}
    finished, current = set(), None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("#"):
            m = HELP_LINE.match(line) or TYPE_LINE.match(line)
            if not m:
                raise ExpositionError(f"line {n}: a comment that is neither HELP nor TYPE: {line!r}")
            name = m.group(1)
            table = helps if line.startswith("# HELP") else types
            if name in table:
                raise ExpositionError(f"line {n}: a second {line[:6]} for {name}")
            if name in finished or (name in samples_families(samples, types) and name != current):
                raise ExpositionError(f"line {n}: {name} declared after its samples")
            table[name] = m.group(2)
            if current is not None and current != name:
                finished.add(current)
            current = name
            continue
        m = SAMPLE_LINE.match(line)
        if not m:
            raise ExpositionError(f"line {n}: not a sample: {line!r}")
        name, labels = m.group(1), parse_labels(m.group(2) or "")
        family = family_of(name, types)
        if family != current:
            raise ExpositionError(f"line {n}: {name} is not next to its family's other samples")
        if types[family] == "histogram" and name.endswith("_bucket") and "le" not in dict(labels):
            raise ExpositionError(f"line {n}: a bucket without le")
        key = (name, labels)
        if key in samples:
            raise ExpositionError(f"line {n}: the series {name}{labels} twice")
        samples[key] = parse_value(m.group(3))
    for family, kind in types.items():
        if kind == "counter" and not family.endswith("_total"):
            raise ExpositionError(f"counter {family} does not end in _total")
        if kind == "histogram":
            check_histogram(family, samples)
    return samples


def samples_families(samples: dict, types: dict) -> set:
    return {family_of(name, types) for name, _ in samples}


def check_histogram(family: str, samples: dict) -> None:
    series = {}
    for (name, labels), value in samples.items():
        if name == family + "_bucket":
            rest = tuple(l for l in labels if l[0] != "le")
            series.setdefault(rest, []).append((parse_value(dict(labels)["le"]), value))
    for rest, buckets in series.items():
        bounds = [b for b, _ in buckets]
        if bounds != sorted(bounds) or bounds[-1] != math.inf:
            raise ExpositionError(f"{family}{rest}: buckets out of order or no le=\"+Inf\"")
        counts = [c for _, c in buckets]
        if counts != sorted(counts):
            raise ExpositionError(f"{family}{rest}: bucket counts not cumulative")
        count = samples.get((family + "_count", rest))
        if count is None or (family + "_sum", rest) not in samples:
            raise ExpositionError(f"{family}{rest}: no _sum or _count")
        if count != counts[-1]:
            raise ExpositionError(f"{family}{rest}: le=\"+Inf\" is not _count")


def self_test_parser(checks: Checks) -> None:
    """The parser refuses what it must (so a pass below means something)."""
    bad = {
        "no TYPE": "x 1\n",
        "bad escape": '# TYPE x gauge\nx{a="\\q"} 1\n',
        "duplicate series": "# TYPE x gauge\nx 1\nx 2\n",
        "non-cumulative buckets": ('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\n'
                                   "h_sum 1\nh_count 2\n"),
        "+Inf not _count": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
        "counter without _total": "# TYPE c counter\nc 1\n",
        "no final line feed": "# TYPE x gauge\nx 1",
    }
    for what, text in bad.items():
        try:
            parse_exposition(text)
            checks.check(f"the strict parser refuses: {what}", False, repr(text))
        except ExpositionError:
            checks.check(f"the strict parser refuses: {what}", True)
    good = parse_exposition('# HELP x A "quoted" \\\\ help.\n# TYPE x gauge\nx{a="q\\"\\n\\\\"} 1.5e3\n')
    checks.check("the strict parser reads escaped label values",
                 good == {("x", (("a", 'q"\n\\'),)): 1500.0}, str(good))


# ---- the test --------------------------------------------------------------------------------

def mllp_send(port: int, text: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"\x0b" + text.encode() + b"\x1c\r")
        data = b""
        while not data.endswith(b"\x1c\r"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.strip(b"\x0b\x1c\r").decode()


def scrape(gw: GatewayProcess, checks: Checks, promtool: str | None, label: str) -> dict:
    status, headers, body = gw.request("GET", "/metrics", auth=False)
    checks.check(f"{label}: /metrics answers 200 without a token from loopback", status == 200,
                 f"{status} {body[:300]!r}")
    checks.check(f"{label}: text/plain; version=0.0.4",
                 headers.get("content-type", "").startswith("text/plain; version=0.0.4"),
                 headers.get("content-type", ""))
    text = body.decode()
    try:
        samples = parse_exposition(text)
        checks.check(f"{label}: the scrape parses as Prometheus text", True)
    except ExpositionError as e:
        checks.check(f"{label}: the scrape parses as Prometheus text", False, str(e))
        samples = {}
    if promtool:
        run = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                             timeout=60)
        checks.check(f"{label}: promtool check metrics accepts it", run.returncode == 0,
                     (run.stdout + run.stderr).decode()[:2000])
    return samples


def value(samples: dict, name: str, **labels) -> float:
    for (n, ls), v in samples.items():
        if n == name and dict(ls) == labels:
            return v
    return 0.0


def health(gw: GatewayProcess, path: str):
    status, headers, body = gw.request("GET", path, auth=False)
    return status, headers.get("content-type", ""), json.loads(body)


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    self_test_parser(checks)
    promtool = shutil.which("promtool")
    if not promtool:
        print("  note  promtool not installed (Debian package prometheus): own parser only")
    overrides = {
        "mllp": {"enabled": True, "port": 0},
        "atna": {"enabled": True, "udp_port": 0, "tcp_port": 0},
        "hl7.identifier_systems": {"KISUMU": "http://kisumu.example/mrn"},
    }
    with GatewayProcess(binary, overrides, name="metrics") as gw:
        status, _, legacy = health(gw, "/health")
        checks.check("GET /health still answers 200 pass", status == 200 and legacy["status"] == "pass",
                     f"{status} {legacy}")
        # READY is the last step of the start: poll briefly (bounded) rather than assume.
        deadline = time.monotonic() + 10
        while True:
            status, ctype, ready = health(gw, "/health/ready")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        checks.check("/health/ready is 200 once started", status == 200, json.dumps(ready))
        checks.check("readiness is pass or warn", ready["status"] in ("pass", "warn"), json.dumps(ready))
        names = ready.get("checks", {})
        checks.check("readiness lists startup, listeners, free space and the audit backlog",
                     {"startup:finished", "listeners:up", "data-dir:free-space",
                      "audit-emitter:backlog"} <= set(names), str(sorted(names)))
        checks.check("all three listeners are up",
                     sorted(names.get("listeners:up", [{}])[0].get("observedValue", []))
                     == ["http", "mllp", "syslog"], json.dumps(names.get("listeners:up")))
        checks.check("the health documents carry the version and the node name",
                     ready.get("serviceId") == "metrics" and bool(ready.get("releaseId")), json.dumps(ready))

        # The probes are registered with the listeners, at the end of the start.
        status, ctype, live = health(gw, "/health/live")
        checks.check("/health/live is 200 application/health+json",
                     status == 200 and ctype == "application/health+json", f"{status} {ctype}")
        checks.check("every event loop answered its probe",
                     sorted(live["checks"]) == ["http-loop:responsive", "mllp-loop:responsive",
                                                "syslog-loop:responsive"]
                     and all(c[0]["status"] == "pass" for c in live["checks"].values()), str(live))
        before = scrape(gw, checks, promtool, "first scrape")
        pid = {"resourceType": "Patient", "id": "m1", "name": [{"family": "Wanjiru"}]}
        gw.json("PUT", "/fhir/Patient/m1", pid, expect=201)
        gw.json("GET", "/fhir/Patient/m1")
        gw.json("GET", "/fhir/Patient/m1")
        answer = mllp_send(gw.mllp_port, "\r".join([
            "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121080000+0300||ADT^A28^ADT_A05|MET-1|P|2.5.1",
            "EVN|A28|20261121080000+0300",
            "PID|1||MRN-90^^^KISUMU^MR||Odhiambo^Ruth||19900101|F",
        ]) + "\r")
        checks.check("the ADT^A28 is AA", "MSA|AA|MET-1" in answer, answer)
        syslog = ("<85>1 2026-11-21T10:00:00Z emr.clinic.lan EMR - IHE+RFC-3881 - "
                  "<AuditMessage/>")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(syslog.encode(), ("127.0.0.1", gw.atna_ports["udp"]))

        # The UDP record is stored asynchronously: scrape until it shows (bounded).
        deadline = time.monotonic() + 10
        while True:
            done = time.monotonic() > deadline
            after = scrape(gw, checks, None, "later scrape")
            if value(after, "clinic_gateway_audit_intake_stored_total") >= 1:
                break
            if done:
                break
            time.sleep(0.05)
        after = scrape(gw, checks, promtool, "second scrape")

        def moved(name, **labels):
            return value(after, name, **labels) - value(before, name, **labels)

        read = {"route": "/fhir/{type}/{id}", "type": "Patient"}
        checks.check("the PUT is counted: PUT /fhir/{type}/{id} Patient 201",
                     moved("clinic_gateway_http_requests_total", method="PUT", code="201", **read) == 1)
        checks.check("the two reads are counted: GET /fhir/{type}/{id} Patient 200",
                     moved("clinic_gateway_http_requests_total", method="GET", code="200", **read) == 2)
        checks.check("the latency histogram counted the three",
                     moved("clinic_gateway_http_request_duration_seconds_count",
                           route="/fhir/{type}/{id}") == 3)
        checks.check("no id reaches a label", not any("m1" in str(k) for k in after))
        checks.check("the HL7v2 message is counted as ADT^A28 / AA",
                     moved("clinic_gateway_hl7_messages_total", type="ADT^A28", ack="AA") == 1)
        checks.check("the audit record is counted as received over udp",
                     moved("clinic_gateway_audit_intake_received_total", transport="udp") == 1)
        checks.check("and stored", moved("clinic_gateway_audit_intake_stored_total") == 1)
        checks.check("the gateway audited its own accesses",
                     value(after, "clinic_gateway_audit_emitted_total", path="queued")
                     + value(after, "clinic_gateway_audit_emitted_total", path="staged") >= 1)
        checks.check("clinical.db and audit.db sizes are shown",
                     value(after, "clinic_gateway_data_file_size_bytes", file="clinical.db") > 0
                     and value(after, "clinic_gateway_data_file_size_bytes", file="audit.db") > 0)
        checks.check("RSS, uptime and build info are shown",
                     value(after, "clinic_gateway_process_resident_memory_bytes") > 1e6
                     and value(after, "clinic_gateway_uptime_seconds") > 0
                     and any(n == "clinic_gateway_build_info" for n, _ in after))
        heap = [(dict(ls).get("allocator"), v) for (n, ls), v in after.items()
                if n == "clinic_gateway_heap_resident_bytes"]
        checks.check("the heap is shown with its allocator, and SQLite's share of it",
                     len(heap) == 1 and heap[0][0] in ("jemalloc", "glibc")
                     and value(after, "clinic_gateway_sqlite_memory_bytes") > 0)
        checks.check("open connections are shown per listener",
                     all(any(n == "clinic_gateway_open_connections" and dict(ls).get("listener") == l
                             for n, ls in after) for l in ("http", "mllp", "syslog")))
        checks.check("the gateway reports itself ready", value(after, "clinic_gateway_ready") == 1)
        status, _, _ = gw.request("GET", "/metrics", auth=False,
                                  headers={"Host": "gw"})  # any Host; still loopback
        checks.check("scrapes need no FHIR token", status == 200)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
