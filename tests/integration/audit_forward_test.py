#!/usr/bin/python3
"""Store-and-forward of audit records to an upstream audit repository over syslog/TLS, with
the real daemon and a receiver written with Python's ssl module; and the `audit` commands
beside the serving daemon.

    /usr/bin/python3 audit_forward_test.py <clinic-gateway>

A throwaway PKI (the `openssl` command, as in http_tls_test.py): a district CA whose
certificate names 127.0.0.1 for the receiver, and a nodes CA that issues the gateway's client
certificate (mutual TLS, as ATNA secure nodes use). The receiver's socket is bound from the
start, so the port is known for the config, but listens only when the test says: until
then a connection is refused, which is the upstream's outage.

1. The daemon runs once with forwarding configured and no records: audit.db is created,
   nothing is sent. Records are then put into audit.db as the ATNA receivers store them
   (two DICOM audit messages with newlines, one FHIR AuditEvent, one unreadable payload).
2. The daemon starts with the upstream down: the failure is logged once. The receiver starts
   listening: the three readable records arrive (octet-counted, <85>, MSGID IHE+RFC-3881
   and the XML byte for byte, or the AuditEvent JSON), with the gateway's client
   certificate; the recovery is logged. `audit stats` shows the cursor and nothing waiting,
   `audit export` the AuditEvents, both while the daemon serves.
3. Two more records; after a restart exactly those two arrive: the cursor survived.
4. Over FHIR: a second daemon (the district, HTTPS) takes batch Bundles from a clinic whose
   [audit.forward] fhir_url names it, with the bearer token from token_file; an AuditEvent
   the district refuses is logged as refused for good and does not hold up the rest.
"""

import http.client
import json
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402
from http_tls_test import Pki  # noqa: E402

TIMEOUT_S = 60
RECEIVED_MS = 1767607200250  # 2026-01-05T10:00:00.250Z

DICOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<AuditMessage>
  <EventIdentification EventActionCode="E" EventDateTime="2026-01-05T10:00:00Z"
      EventOutcomeIndicator="0"><EventID csd-code="110114" codeSystemName="DCM"/>
  </EventIdentification>
</AuditMessage>"""
EVENT_JSON = ('{"resourceType":"AuditEvent","type":{"system":'
              '"http://dicom.nema.org/resources/ontology/DCM","code":"110114"},"action":"E",'
              '"recorded":"2026-01-05T10:00:00Z","outcome":"0","agent":[{"requestor":true,'
              '"who":{"display":"emr"}}],"source":{"observer":{"display":"clinic-7"}}}')
# No agent: a FHIR server refuses it (AuditEvent.agent is 1..*).
BROKEN_EVENT = ('{"resourceType":"AuditEvent","type":{"code":"110114"},"action":"E",'
                '"recorded":"2026-01-05T10:00:00Z","source":{"observer":{"display":"x"}}}')


class SyslogReceiver:
    """A syslog-over-TLS receiver: octet-counted frames, client certificates required.
    Each connection is read to the sender's close_notify, then answered with ours."""

    def __init__(self, pki: Pki):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pki.path("arr.crt"), pki.path("arr.key"))
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.load_verify_locations(pki.path("nodes-ca.crt"))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.messages: list[bytes] = []
        self.subjects: list[str] = []
        self.connections = 0
        self.lock = threading.Condition()
        self.thread: threading.Thread | None = None

    def listen(self) -> None:
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed by the test
            conn.settimeout(TIMEOUT_S)
            try:
                with self.context.wrap_socket(conn, server_side=True) as tls:
                    subject = dict(x[0] for x in tls.getpeercert()["subject"])
                    data = b""
                    while chunk := tls.recv(65536):
                        data += chunk
                    frames = self._frames(data)
                    tls.unwrap()  # our close_notify: the sender may now advance its cursor
                with self.lock:
                    self.connections += 1
                    self.subjects.append(subject.get("commonName", ""))
                    self.messages += frames
                    self.lock.notify_all()
            except (OSError, ssl.SSLError) as e:
                print(f"  (receiver: connection ended with {e!r})")

    @staticmethod
    def _frames(data: bytes) -> list[bytes]:
        frames = []
        while data:
            length, _, rest = data.partition(b" ")
            frames.append(rest[:int(length)])
            data = rest[int(length):]
        return frames

    def sample_messages(self) -> list[bytes]:
        """What arrived, without the gateway's own audit records (its start and stop): the
        test's records are the ones it checks."""
        with self.lock:
            return [m for m in self.messages if not is_own_record(m)]

    def wait_for(self, count: int) -> bool:
        deadline = time.monotonic() + TIMEOUT_S
        with self.lock:
            while len([m for m in self.messages if not is_own_record(m)]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
            return True

    def close(self) -> None:
        self.sock.close()


def is_own_record(message: bytes | str) -> bool:
    """The gateway's own records name it as their site; the test's records do not."""
    text = message if isinstance(message, str) else message.decode("utf-8", "replace")
    return re.search(r'"site":"clinic-\d+"', text) is not None


def wait_for_stats(binary: str, gw: GatewayProcess, pattern: str) -> subprocess.CompletedProcess:
    """`audit stats` until it matches: the gateway's own records keep arriving beside the
    test's, and the forwarder takes them within its poll."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        stats = run_cli(binary, gw, "stats")
        if re.search(pattern, stats.stdout) or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


def add_records(db: Path, records: list[tuple]) -> None:
    """Stores records as the ATNA receivers do: (format, problem, raw bytes, AuditEvent)."""
    with sqlite3.connect(db, timeout=30) as conn:
        for fmt, problem, raw, resource in records:
            conn.execute(
                "INSERT INTO audit_records (received_ms, recorded_ms, transport, peer, format, "
                "problem, raw, resource) VALUES (?, ?, 'tls', '10.0.0.7', ?, ?, ?, ?)",
                (RECEIVED_MS, RECEIVED_MS, fmt, problem, raw, resource))
    conn.close()


def run_cli(binary: str, gw: GatewayProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "audit", args[0], "--config", str(gw.config_path), *args[1:]],
                          capture_output=True, text=True, timeout=TIMEOUT_S)


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="cg-audit-pki-") as tmp:
        pki = Pki(Path(tmp))
        pki.ca("district-ca", "/CN=District CA")
        pki.issue("arr", "/O=District/CN=arr", "district-ca", "subjectAltName=IP:127.0.0.1")
        pki.ca("nodes-ca", "/CN=Secure nodes CA")
        pki.issue("node", "/O=Clinic/CN=clinic-7", "nodes-ca")
        receiver = SyslogReceiver(pki)
        gw = GatewayProcess(binary, {
            "audit.forward": {
                "syslog_url": f"tls://127.0.0.1:{receiver.port}",
                "tls_ca": pki.path("district-ca.crt"),
                "client_certificate": pki.path("node.crt"),
                "client_key": pki.path("node.key"),
                "timeout_ms": 5000,
            }}, name="clinic-7")
        try:
            # 1. audit.db is created; with no records nothing is sent.
            gw.start()
            checks.check("the daemon names its audit upkeep",
                         gw.wait_for_log(r"audit\.db: retention 2190 days; forwarding to syslog "
                                         rf"tls://127\.0\.0\.1:{receiver.port}", 0, TIMEOUT_S),
                         gw.log_tail())
            checks.check("the daemon stops cleanly", gw.stop() == 0)
            db = gw.data_dir / "audit.db"
            add_records(db, [("dicom", None, DICOM, EVENT_JSON),
                             ("unknown", "not an audit message", b"<<junk", None),
                             ("fhir", None, EVENT_JSON.encode(), EVENT_JSON),
                             ("rfc3881", None, DICOM.replace(b"csd-code", b"code"), EVENT_JSON)])

            # 2. Upstream down, then up.
            gw.start()
            checks.check("the outage is logged",
                         gw.wait_for_log(r"audit forwarding to syslog tls://127\.0\.0\.1:\d+ "
                                         r"failed: .*retrying with backoff", 0, TIMEOUT_S),
                         gw.log_tail())
            receiver.listen()
            checks.check("the three readable records arrive once the upstream listens",
                         receiver.wait_for(3), f"{len(receiver.messages)} arrived")
            messages = receiver.sample_messages()
            header = b"<85>1 2026-01-05T10:00:00.250Z clinic-7 clinic-gateway - "
            checks.check("DICOM XML goes byte for byte with MSGID IHE+RFC-3881",
                         len(messages) == 3
                         and messages[0] == header + b"IHE+RFC-3881 - " + DICOM,
                         repr(messages[:1])[:300])
            checks.check("an AuditEvent goes as its JSON without MSGID",
                         len(messages) == 3 and messages[1] == header + b"- - "
                         + EVENT_JSON.encode(), repr(messages[1:2])[:300])
            checks.check("RFC 3881 XML goes as received too",
                         len(messages) == 3 and messages[2].endswith(b"</AuditMessage>")
                         and b" IHE+RFC-3881 - " in messages[2])
            checks.check("the gateway presented its client certificate",
                         receiver.subjects and set(receiver.subjects) == {"clinic-7"},
                         str(receiver.subjects))
            checks.check("the recovery is logged",
                         gw.wait_for_log(r"works again after \d+ failed attempts", 0, TIMEOUT_S),
                         gw.log_tail())
            checks.check("the failure was logged once, not at every retry",
                         len(re.findall(r"audit forwarding to \S+ \S+ failed:", gw.log_text())) == 1,
                         gw.log_tail())

            pattern = (rf"forward\.syslog  tls://127\.0\.0\.1:{receiver.port}: "
                       r"cursor \d+, 0 waiting")
            stats = wait_for_stats(binary, gw, pattern)
            checks.check("audit stats beside the daemon: the cursor is past every record",
                         stats.returncode == 0 and re.search(pattern, stats.stdout) is not None,
                         stats.stdout + stats.stderr)
            exported = run_cli(binary, gw, "export", "--include-unreadable")
            lines = [line for line in exported.stdout.splitlines() if not is_own_record(line)]
            checks.check("audit export beside the daemon: three AuditEvents, one unreadable",
                         exported.returncode == 0 and len(lines) == 4
                         and lines[1].startswith('{"unreadable":{"id":')
                         and lines[2].startswith('{"resourceType":"AuditEvent","id":'),
                         exported.stdout[:500] + exported.stderr)
            checks.check("the daemon stops cleanly", gw.stop() == 0)

            # 3. A restart resumes at the cursor: only the new records go.
            add_records(db, [("fhir", None, EVENT_JSON.encode(), EVENT_JSON),
                             ("dicom", None, DICOM, EVENT_JSON)])
            before = len(receiver.sample_messages())
            gw.start()
            checks.check("after a restart the two new records arrive",
                         receiver.wait_for(before + 2), f"{len(receiver.messages)} arrived")
            checks.check("the daemon stops cleanly", gw.stop() == 0)
            newest = receiver.sample_messages()[before:]
            checks.check("exactly those, in order: nothing was sent twice",
                         len(newest) == 2 and newest[0].endswith(EVENT_JSON.encode())
                         and newest[1].endswith(DICOM), repr(newest)[:300])
            forward_over_fhir(binary, pki, checks)
        finally:
            receiver.close()
            gw.cleanup()
    return checks.summary()


def forward_over_fhir(binary: str, pki: Pki, checks: Checks) -> None:
    district = GatewayProcess(binary, {"http.tls": {"certificate": pki.path("arr.crt"),
                                                    "private_key": pki.path("arr.key")}},
                              name="district")
    clinic = None
    try:
        district.start()
        token_file = district.dir / "district-token"
        token_file.write_text(district.token + "\n")
        clinic = GatewayProcess(binary, {"audit.forward": {
            "fhir_url": f"https://127.0.0.1:{district.port}/fhir",
            "tls_ca": pki.path("district-ca.crt"),
            "token_file": str(token_file),
            "batch_size": 2,
        }, "log": {"level": "debug"}}, name="clinic-8")
        clinic.start()
        clinic.stop()
        add_records(clinic.data_dir / "audit.db",
                    [("fhir", None, EVENT_JSON.encode(), EVENT_JSON),
                     ("fhir", None, BROKEN_EVENT.encode(), BROKEN_EVENT),
                     ("dicom", None, DICOM, EVENT_JSON)])
        clinic.start()
        checks.check("FHIR: the refused AuditEvent is logged, with its id",
                     clinic.wait_for_log(r"refused 1 record\(s\) for good.*\(ids \d+\)", 0,
                                         TIMEOUT_S), clinic.log_tail())
        pattern = r"forward\.fhir  https://127\.0\.0\.1:\d+/fhir: cursor \d+, 0 waiting"
        stats = wait_for_stats(binary, clinic, pattern)
        checks.check("FHIR: the clinic's cursor passes them all (after the district's 2xx)",
                     re.search(pattern, stats.stdout) is not None, stats.stdout + stats.stderr)
        context = ssl.create_default_context(cafile=pki.path("district-ca.crt"))
        conn = http.client.HTTPSConnection("127.0.0.1", district.port, context=context,
                                           timeout=TIMEOUT_S)
        # The test's records are of type 110114; the gateways' own starts are 110100.
        conn.request("GET", "/fhir/AuditEvent?_summary=count&type=110114",
                     headers={"Authorization": f"Bearer {district.token}",
                              "Accept": "application/fhir+json"})
        answer = conn.getresponse()
        total = json.loads(answer.read()).get("total", -1) if answer.status == 200 else -1
        conn.close()
        checks.check("FHIR: the district stored the two valid AuditEvents", total == 2,
                     f"total {total}")
        checks.check("FHIR: the clinic stops cleanly", clinic.stop() == 0)
        checks.check("FHIR: the district stops cleanly", district.stop() == 0)
    finally:
        if clinic:
            clinic.cleanup()
        district.cleanup()


if __name__ == "__main__":
    sys.exit(main())
