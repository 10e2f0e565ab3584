#!/usr/bin/python3
"""The ATNA syslog receivers of a real daemon, fed by real syslog senders.

    /usr/bin/python3 atna_test.py <clinic-gateway> [<dir of the IPF audit samples>]

The daemon runs with [atna] enabled on free ports: UDP, plain TCP and TLS (a certificate for
"localhost" made with the `openssl` command). Every DICOM audit sample of
../shared/data/atna/ipf is sent three times:

- over UDP with util-linux `logger --rfc5424 -d` (one datagram each);
- over TCP with `logger --rfc5424 --tcp --octet-count`;
- over TLS by Debian's rsyslog (rsyslog-openssl), started here as a foreground process with
  its own config and work directory: `logger` hands each sample to its imtcp input, and its
  omfwd action forwards it with StreamDriver="ossl", verifying the gateway's certificate by
  name (x509/name), octet-counted, as RFC 5425 says.

A payload that is not an audit record is sent too: it must be stored, flagged, not dropped.
Then the daemon is stopped and audit.db is read with sqlite3: each transport holds every
sample, byte for byte, read as DICOM with no problem, and every sample is found by its event
type and its patient identifier (stored_count(), the one place that looks records up; it will
become the ITI-81 search GET /fhir/AuditEvent?type=…&patient.identifier=…). The daemon's log
must not contain a patient identifier.

Skips (exit 77) when the samples are absent; the rsyslog part is a warning when rsyslogd or
its openssl driver is not installed (apt-get install rsyslog rsyslog-openssl).
"""

import base64
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import urllib.parse
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (SKIP, Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             default_shared_data)

DCM = "http://dicom.nema.org/resources/ontology/DCM"
RSYSLOG_OSSL = Path("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so")
WAIT_S = 60
# The transports the test sends over, in order, and who sends: (transport, sender).
PATHS = [("udp", "logger -d"), ("tcp", "logger --tcp --octet-count"), ("tls", "rsyslog ossl")]


# ---- what the samples say ---------------------------------------------------------------

def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def patient_identifier(object_id: str) -> tuple[str, str]:
    """(system, value) of a patient's ParticipantObjectID as the gateway reads it: an HL7 CX
    (first repetition) with an ISO OID authority, a namespace, or a FHIR token; else as is."""
    cx = object_id.split("~", 1)[0]
    parts = cx.split("^")
    if len(parts) >= 4 and parts[0] and parts[3]:
        authority = (parts[3].split("&") + ["", "", ""])[:3]
        if authority[1] and authority[2].upper() == "ISO":
            return f"urn:oid:{authority[1]}", parts[0]
        if authority[0]:
            return f"urn:cg:authority:{authority[0]}", parts[0]
    if "|" in object_id and object_id.split("|", 1)[0].startswith(("urn:", "http")):
        system, value = object_id.split("|", 1)
        return system, value
    return "", object_id


class Sample:
    def __init__(self, path: Path):
        self.name = path.name
        self.text = path.read_text(encoding="utf-8").rstrip("\n")  # logger drops the last LF
        root = ET.fromstring(path.read_bytes())
        event_id = next(e for e in root.iter() if local(e.tag) == "EventID")
        assert event_id.get("codeSystemName") == "DCM", path
        self.event_type = (DCM, event_id.get("csd-code") or event_id.get("code"))
        self.patients = [patient_identifier(o.get("ParticipantObjectID", ""))
                         for o in root.iter() if local(o.tag) == "ParticipantObjectIdentification"
                         and o.get("ParticipantObjectTypeCode") == "1"
                         and o.get("ParticipantObjectTypeCodeRole") == "1"
                         and o.get("ParticipantObjectID")]


# ---- the one look-up ----------------------------------------------------------------------

def searched_count(gw: GatewayProcess, event_type: tuple[str, str],
                   patient: tuple[str, str] | None, source: str | None = None) -> int:
    """How many records the ITI-81 search finds with this event type (and this patient
    identifier, and this source): GET /fhir/AuditEvent?…&_summary=count."""
    query = {"type": f"{event_type[0]}|{event_type[1]}", "_summary": "count"}
    if patient is not None:
        query["patient.identifier"] = f"{patient[0]}|{patient[1]}" if patient[0] else patient[1]
    if source is not None:
        query["source"] = source
    bundle, _ = gw.json("GET", "/fhir/AuditEvent?" + urllib.parse.urlencode(query))
    return bundle["total"]


# ---- senders -------------------------------------------------------------------------------

def logger(port: int, text: str, *transport: str) -> subprocess.CompletedProcess:
    """util-linux logger: one RFC 5424 message (facility authpriv, severity notice: <85>)."""
    return subprocess.run(
        ["logger", "--rfc5424", *transport, "-n", "127.0.0.1", "-P", str(port), "--size", "65536",
         "-p", "authpriv.notice", "-t", "ATNA", "--msgid", "IHE+DICOM", "--", text],
        capture_output=True, text=True, timeout=30)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rsyslog:
    """rsyslogd in the foreground with its own config: imtcp on `port` → omfwd over TLS."""

    def __init__(self, directory: Path, tls_port: int, ca_file: Path):
        self.dir = directory
        self.port = free_tcp_port()
        (directory / "work").mkdir()
        self.config = directory / "rsyslog.conf"
        self.config.write_text(f'''
global(
  workDirectory="{directory / 'work'}"
  maxMessageSize="64k"
  parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriverCAFile="{ca_file}"
)
module(load="imtcp")
template(name="rfc5424-no-lf" type="string"
         string="<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%")
ruleset(name="to-gateway") {{
  action(type="omfwd" target="127.0.0.1" port="{tls_port}" protocol="tcp"
         StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" TCP_Framing="octet-counted"
         template="rfc5424-no-lf" action.resumeRetryCount="-1")
}}
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="to-gateway")
''')
        self.log = open(directory / "rsyslogd.log", "w")
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-iNONE", "-f", str(self.config)],
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=directory)

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def output(self) -> str:
        return (self.dir / "rsyslogd.log").read_text(errors="replace")[-3000:]


def rsyslog_missing() -> str:
    if not shutil.which("rsyslogd"):
        return "rsyslogd is not installed (apt-get install rsyslog rsyslog-openssl)"
    if not RSYSLOG_OSSL.exists():
        return f"{RSYSLOG_OSSL} is absent (apt-get install rsyslog-openssl)"
    return ""


# ---- the test ------------------------------------------------------------------------------

def wait_for_rows(db_path: Path, transport: str, count: int) -> int:
    """Polls audit.db (read-only; WAL lets it read while the daemon writes) until `transport`
    has `count` records or WAIT_S pass; returns what it saw last."""
    deadline = time.monotonic() + WAIT_S
    seen = 0
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
                seen = db.execute("SELECT count(*) FROM audit_records WHERE transport = ?",
                                  (transport,)).fetchone()[0]
        except sqlite3.Error:
            seen = 0
        if seen >= count:
            return seen
        time.sleep(0.05)
    return seen


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "gateway.crt", directory / "gateway.key"
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def main() -> int:
    binary = binary_from_argv(sys.argv)
    samples_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else default_shared_data() / "atna" / "ipf"
    files = sorted(samples_dir.glob("*.xml"))
    if not files:
        print(f"SKIP: no IPF audit samples in {samples_dir} (../shared/data is absent)")
        return SKIP
    if not shutil.which("logger"):
        print("SKIP: util-linux logger is not installed")
        return SKIP
    samples = [Sample(f) for f in files]
    checks = Checks()
    pki = Path(tempfile.mkdtemp(prefix="cg-atna-pki-"))
    try:
        cert, key = make_certificate(pki)
        gw = GatewayProcess(binary, {
            "atna": {"enabled": True, "udp_port": 0, "tcp_port": 0, "tls_port": 0},
            "atna.tls": {"certificate": str(cert), "private_key": str(key)},
        }, name="atna")
        with gw:
            run(gw, samples, checks, pki, cert)
    finally:
        shutil.rmtree(pki, ignore_errors=True)
    return checks.summary()


def run(gw: GatewayProcess, samples: list[Sample], checks: Checks, pki: Path, cert: Path) -> None:
    ports = gw.atna_ports
    checks.check("the daemon logs its udp, tcp and tls receivers",
                 sorted(ports) == ["tcp", "tls", "udp"], str(ports))
    db_path = gw.data_dir / "audit.db"
    transports = ["udp", "tcp"]

    for sample in samples:
        sent = logger(ports["udp"], sample.text, "-d")
        checks.check(f"logger -d sends {sample.name}", sent.returncode == 0, sent.stderr)
    checks.check("every UDP datagram is stored",
                 wait_for_rows(db_path, "udp", len(samples)) == len(samples))

    for sample in samples:
        sent = logger(ports["tcp"], sample.text, "--tcp", "--octet-count")
        checks.check(f"logger --tcp --octet-count sends {sample.name}", sent.returncode == 0,
                     sent.stderr)
    junk = logger(ports["tcp"], "this is not an audit record", "--tcp", "--octet-count")
    checks.check("logger sends a payload that is no audit record", junk.returncode == 0)
    checks.check("every TCP message is stored",
                 wait_for_rows(db_path, "tcp", len(samples) + 1) == len(samples) + 1)

    missing = rsyslog_missing()
    if missing:
        checks.warn("rsyslog forwards over TLS", False, f"not run: {missing}")
    else:
        rsyslog = Rsyslog(pki, ports["tls"], cert)
        try:
            ready = rsyslog.wait_ready()
            checks.check("rsyslogd starts and listens", ready, rsyslog.output())
            if ready:
                for sample in samples:
                    sent = logger(rsyslog.port, sample.text, "--tcp", "--octet-count")
                    checks.check(f"logger hands {sample.name} to rsyslog", sent.returncode == 0,
                                 sent.stderr)
                stored = wait_for_rows(db_path, "tls", len(samples))
                checks.check("rsyslog's TLS forwarding stores every sample",
                             stored == len(samples), f"{stored} of {len(samples)}\n"
                             + rsyslog.output())
                transports.append("tls")
        finally:
            rsyslog.stop()

    search(gw, samples, transports, checks)
    checks.check("the daemon stops cleanly", gw.stop() == 0, gw.log_tail())
    verify(gw, samples, transports, checks)
    log = gw.log_text()
    # Identifiers long enough not to turn up in a timestamp or a port by chance.
    named = [value for s in samples for _, value in s.patients if len(value) >= 6 and value in log]
    checks.check("the log names no patient", not named, f"{named[:3]} in the daemon's log")
    checks.check("the unreadable payload is logged as stored flagged",
                 "unreadable audit record(s) stored flagged" in log)


def exported_as_received(gw: GatewayProcess) -> list[dict]:
    """Every stored record as the gateway received it (`audit export --as-received`): the
    daemon keeps payloads compressed, so this is how an operator gets the bytes back."""
    out = subprocess.run([gw.binary, "audit", "export", "--config", str(gw.config_path),
                          "--as-received", "--include-unreadable"],
                         capture_output=True, timeout=120, check=True)
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    return [line.get("received") or dict(line["unreadable"], unreadable=True) for line in lines]


def verify(gw: GatewayProcess, samples: list[Sample], transports: list[str],
           checks: Checks) -> None:
    records = exported_as_received(gw)
    for transport in transports:
        rows = [r for r in records if r["transport"] == transport and "unreadable" not in r]
        raws = sorted(base64.b64decode(r["payload"]).decode("utf-8") for r in rows)
        checks.check(f"{transport}: every sample stored once, byte for byte",
                     raws == sorted(s.text for s in samples),
                     f"{len(rows)} readable records for {len(samples)} samples")
        checks.check(f"{transport}: read as DICOM audit messages from 127.0.0.1",
                     all(r["format"] == "dicom" and r["peer"] == "127.0.0.1" for r in rows))
    flagged = [r for r in records if "unreadable" in r]
    checks.check("the payload that is no audit record is kept, flagged",
                 len(flagged) == 1 and flagged[0]["transport"] == "tcp"
                 and flagged[0]["format"] == "unknown"
                 and b"this is not an audit record" in base64.b64decode(flagged[0]["payload"]),
                 str(flagged))


def search(gw: GatewayProcess, samples: list[Sample], transports: list[str],
           checks: Checks) -> None:
    """Every sample is found by the ITI-81 search, by its type and its first patient."""
    for sample in samples:
        # Every sample with this type (and this patient), on every transport used.
        patient = sample.patients[0] if sample.patients else None
        expected = len(transports) * sum(
            1 for s in samples if s.event_type == sample.event_type
            and (patient is None or patient in s.patients))
        # The gateway's own records (its start is an Application Activity too) are not
        # the samples': they name the gateway as their source.
        found = (searched_count(gw, sample.event_type, patient)
                 - searched_count(gw, sample.event_type, patient, gw.node_name))
        checks.check(f"{sample.name}: found by type {sample.event_type[1]}"
                     + (f" and patient {patient[1]}" if patient else ""),
                     found == expected, f"{found} records, expected {expected}")


if __name__ == "__main__":
    sys.exit(main())
