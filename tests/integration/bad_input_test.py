#!/usr/bin/python3
"""Promise 4: bad input gets a clear answer (or a closed connection), never a crash, and
nothing is stored. Promise 6 (part): no resource content in the daemon's log.

    /usr/bin/python3 bad_input_test.py <clinic-gateway>

Every bad request below is followed by two checks: the store has nothing new (system-level
_history total and entries unchanged) and the daemon still answers GET /health. The daemon
runs with a small body limit (64 KiB) and request timeout (500 ms) so the limit and
slow-client cases are quick.
"""

import json
import secrets
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

BODY_LIMIT = 64 * 1024
REQUEST_TIMEOUT_MS = 500
JSON_CT = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
XML_CT = {"Content-Type": "application/fhir+xml", "Accept": "application/fhir+json"}


class BadInput:
    def __init__(self, gw: GatewayProcess, checks: Checks):
        self.gw = gw
        self.checks = checks
        self.baseline = self.snapshot()

    def snapshot(self):
        """(total, number of entries) of the system history: grows with any stored version."""
        status, _, body = self.gw.request("GET", "/fhir/_history?_count=1000", None,
                                          {"Accept": "application/fhir+json"})
        if status != 200:
            return ("system history unavailable", status)
        b = json.loads(body)
        return (b.get("total"), len(b.get("entry", [])))

    def still_fine(self, name: str):
        """After a bad request: the daemon is alive, answers, and stored nothing."""
        alive = self.gw.alive()
        try:
            status, _, _ = self.gw.request("GET", "/health", auth=False, timeout=10)
        except OSError as e:
            status = f"{type(e).__name__}: {e}"
        self.checks.check(f"{name}: daemon still answers", alive and status == 200,
                          f"alive={alive}, GET /health -> {status}\n{self.gw.log_tail(10)}")
        if not alive:
            raise SystemExit("daemon died; stopping here\n" + self.gw.log_tail())
        now = self.snapshot()
        self.checks.check(f"{name}: nothing stored", now == self.baseline, f"history {self.baseline} -> {now}")
        self.baseline = now

    def expect(self, name: str, method: str, path: str, body, headers: dict, statuses, outcome_mentions=None):
        statuses = statuses if isinstance(statuses, tuple) else (statuses,)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        try:
            status, h, data = self.gw.request(method, path, body, headers, timeout=30)
        except OSError as e:
            self.checks.check(name, False, f"{type(e).__name__}: {e}")
            self.still_fine(name)
            return None
        ok = self.checks.check(f"{name} -> {'/'.join(map(str, statuses))}", status in statuses,
                               f"{method} {path} -> {status} {data[:300]!r}")
        outcome = None
        if ok and status >= 400:
            try:
                outcome = json.loads(data) if data else None
            except ValueError:
                pass
            is_oo = isinstance(outcome, dict) and outcome.get("resourceType") == "OperationOutcome"
            self.checks.check(f"{name}: the {status} carries an OperationOutcome", is_oo,
                              f"body {data[:200]!r} (content-type {h.get('content-type')})")
            if not is_oo:
                outcome = None
        if outcome is not None and outcome_mentions:
            text = json.dumps(outcome.get("issue", []))
            self.checks.check(f"{name}: OperationOutcome names {outcome_mentions}", outcome_mentions in text,
                              text[:400])
        self.still_fine(name)
        return outcome


def raw_exchange(port: int, payload: bytes, shut_wr: bool = False, timeout: float = 10.0,
                 body_after: bytes = b""):
    """Sends raw bytes; reads until the server closes or `timeout`. Returns (bytes, closed, seconds)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    t0 = time.monotonic()
    received = b""
    closed = False
    try:
        s.sendall(payload)
        if body_after:
            try:
                s.sendall(body_after)
            except OSError:
                pass  # the server may answer and close before reading an oversized body
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        s.close()
    return received, closed, time.monotonic() - t0


def trickle(port: int, payload: bytes, every_s: float, limit_s: float):
    """Sends one byte per `every_s` (the slowloris pace). Returns seconds until the server
    disconnected us, or None if it was still accepting bytes after `limit_s`."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    try:
        for b in payload:
            if time.monotonic() - t0 > limit_s:
                return None
            try:
                s.sendall(bytes([b]))
                # A closed connection shows up as readable EOF (or a reset on the next send).
                s.settimeout(every_s)
                try:
                    if s.recv(4096) == b"":
                        return time.monotonic() - t0
                except socket.timeout:
                    pass
            except OSError:
                return time.monotonic() - t0
        return None
    finally:
        s.close()


def status_of(raw: bytes):
    line = raw.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    gw = GatewayProcess(binary, name="badinput", overrides={
        "http": {"body_limit_bytes": BODY_LIMIT, "request_timeout_ms": REQUEST_TIMEOUT_MS,
                 "idle_timeout_ms": 5000}})
    try:
        gw.start()
        # One good resource first, so "nothing new" compares against a non-empty store.
        gw.json("POST", "/fhir/Patient", {"resourceType": "Patient", "name": [{"family": "Baseline"}]},
                expect=201)
        t = BadInput(gw, checks)

        print("malformed JSON")
        t.expect("truncated JSON", "POST", "/fhir/Patient", b'{"resourceType":"Patient","name":[{', JSON_CT, 400)
        t.expect("JSON array instead of a resource", "POST", "/fhir/Patient", b"[1,2,3]", JSON_CT, 400)
        t.expect("trailing garbage after JSON", "POST", "/fhir/Patient", b'{"resourceType":"Patient"} x', JSON_CT, 400)
        t.expect("invalid UTF-8 in JSON", "POST", "/fhir/Patient",
                 b'{"resourceType":"Patient","name":[{"family":"\xff\xfe"}]}', JSON_CT, 400)
        # RFC 8259 only says names SHOULD be unique; a FHIR server that silently keeps one of two
        # conflicting values is ambiguous, so this is reported as a warning, not a failure.
        status, _, data = gw.request("POST", "/fhir/Patient",
                                     b'{"resourceType":"Patient","gender":"male","gender":"female"}', JSON_CT)
        checks.warn("duplicate JSON key (gender twice) -> 400", status == 400, f"got {status} {data[:200]!r}")
        t.baseline = t.snapshot()  # a 201 here stored a Patient; do not blame the next case for it
        t.still_fine("duplicate JSON key")
        t.expect("JSON nested 30000 deep", "POST", "/fhir/Patient",
                 b'{"resourceType":"Patient","extension":' + b"[" * 30000 + b"]" * 30000 + b"}", JSON_CT, 400)
        t.expect("empty body", "POST", "/fhir/Patient", b"", JSON_CT, 400)

        print("malformed XML")
        t.expect("unclosed XML", "POST", "/fhir/Patient",
                 b'<Patient xmlns="http://hl7.org/fhir"><name><family value="X"/></name>', XML_CT, 400)
        t.expect("XML in the wrong namespace", "POST", "/fhir/Patient",
                 b'<Patient xmlns="urn:other"><gender value="male"/></Patient>', XML_CT, 400)
        xxe = (b'<?xml version="1.0"?>\n<!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
               b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&xxe;"/></name></Patient>')
        out = t.expect("XML with DOCTYPE + external entity (XXE)", "POST", "/fhir/Patient", xxe, XML_CT, 400)
        checks.check("XXE: /etc/passwd content not echoed", "root:" not in json.dumps(out or {}))
        laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  b'<Patient xmlns="http://hl7.org/fhir"><name><family value="&lol3;"/></name></Patient>')
        t.expect("XML entity expansion (billion laughs)", "POST", "/fhir/Patient", laughs, XML_CT, 400)

        print("limits, media types, methods, paths")
        t.expect(f"body over body_limit_bytes ({BODY_LIMIT + 1} bytes)", "POST", "/fhir/Patient",
                 b'{"resourceType":"Patient","text":"' + b"a" * BODY_LIMIT + b'"}', JSON_CT, 413)
        # An oversized declared length must be refused from the headers alone.
        raw, closed, _ = raw_exchange(gw.port, (
            f"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.token}\r\n"
            f"Content-Type: application/fhir+json\r\nContent-Length: {100 * BODY_LIMIT}\r\n\r\n").encode(),
            body_after=b"{" * 4096, timeout=10)
        checks.check("Content-Length 100x the limit -> 413 before the body is sent", status_of(raw) == 413,
                     f"got {raw[:200]!r} closed={closed}")
        t.still_fine("declared oversize body")
        chunks = b"".join(b"%x\r\n%s\r\n" % (8192, b"a" * 8192) for _ in range(BODY_LIMIT // 8192 + 2)) + b"0\r\n\r\n"
        raw, closed, _ = raw_exchange(gw.port, (
            f"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.token}\r\n"
            f"Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n").encode(),
            body_after=chunks, timeout=10)
        checks.check("chunked body over the limit -> 413", status_of(raw) == 413, f"got {raw[:200]!r} closed={closed}")
        t.still_fine("chunked oversize body")
        t.expect("text/plain body", "POST", "/fhir/Patient", b'{"resourceType":"Patient"}',
                 {"Content-Type": "text/plain", "Accept": "application/fhir+json"}, 415)
        t.expect("form-encoded body", "POST", "/fhir/Patient", b"resourceType=Patient",
                 {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/fhir+json"}, 415)
        t.expect("PATCH /fhir/Patient", "PATCH", "/fhir/Patient", b"[]",
                 {"Content-Type": "application/json-patch+json", "Accept": "application/fhir+json"}, 405)
        t.expect("DELETE /fhir/metadata", "DELETE", "/fhir/metadata", None, {"Accept": "application/fhir+json"}, 405)
        t.expect("PUT /fhir/_history", "PUT", "/fhir/_history", b"{}", JSON_CT, 405)
        t.expect("GET unknown resource type", "GET", "/fhir/Spaceship/1", None, {"Accept": "application/fhir+json"}, 404)
        t.expect("POST unknown resource type", "POST", "/fhir/Spaceship", b'{"resourceType":"Spaceship"}',
                 JSON_CT, 404)
        t.expect("GET a path outside /fhir", "GET", "/etc/passwd", None, {"Accept": "application/fhir+json"}, 404)

        print("structural validation")
        t.expect("unknown element", "POST", "/fhir/Patient", {"resourceType": "Patient", "favouriteColour": "blue"},
                 {**JSON_CT}, 400, outcome_mentions="Patient.favouriteColour")
        t.expect("bad date", "POST", "/fhir/Patient", {"resourceType": "Patient", "birthDate": "1987-13-45"},
                 JSON_CT, 400, outcome_mentions="Patient.birthDate")
        t.expect("bad date in XML", "POST", "/fhir/Patient",
                 b'<Patient xmlns="http://hl7.org/fhir"><birthDate value="14/03/1987"/></Patient>', XML_CT, 400,
                 outcome_mentions="Patient.birthDate")
        t.expect("unknown element in XML", "POST", "/fhir/Patient",
                 b'<Patient xmlns="http://hl7.org/fhir"><shoeSize value="42"/></Patient>', XML_CT, 400,
                 outcome_mentions="Patient.shoeSize")
        t.expect("array for a 0..1 element", "POST", "/fhir/Patient",
                 {"resourceType": "Patient", "gender": ["female"]}, JSON_CT, 400, outcome_mentions="Patient.gender")
        t.expect("nested unknown element", "POST", "/fhir/Patient",
                 {"resourceType": "Patient", "name": [{"family": "X", "nickname": "Y"}]}, JSON_CT, 400,
                 outcome_mentions="Patient.name")
        t.expect("body type differs from the URL type", "POST", "/fhir/Patient",
                 {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}, JSON_CT, 400)
        t.expect("PUT with an id differing from the URL", "PUT", "/fhir/Patient/abc",
                 {"resourceType": "Patient", "id": "xyz"}, JSON_CT, 400)
        t.expect("transaction with one invalid entry stores nothing", "POST", "/fhir", {
            "resourceType": "Bundle", "type": "transaction", "entry": [
                {"fullUrl": "urn:uuid:0d9c4a51-5d0a-4b53-9c5f-7a0f1e6f0001",
                 "resource": {"resourceType": "Patient", "name": [{"family": "Atomic"}]},
                 "request": {"method": "POST", "url": "Patient"}},
                {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                              "subject": {"reference": "urn:uuid:0d9c4a51-5d0a-4b53-9c5f-7a0f1e6f0001"},
                              "effectiveDateTime": "yesterday"},
                 "request": {"method": "POST", "url": "Observation"}}]}, JSON_CT, 400)
        t.expect("request without a token", "POST", "/fhir/Patient", b'{"resourceType":"Patient"}',
                 {**JSON_CT, "Authorization": "Bearer wrong"}, 401)

        print("connection-level abuse")
        raw, closed, took = raw_exchange(gw.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ", timeout=15)
        checks.check(f"slowloris (partial headers, then silence) is disconnected (request_timeout_ms "
                     f"{REQUEST_TIMEOUT_MS}; took {took:.2f}s)", closed and took < 10,
                     f"closed={closed} after {took:.1f}s, got {raw[:100]!r}")
        t.still_fine("slowloris headers")
        raw, closed, took = raw_exchange(gw.port, (
            f"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.token}\r\n"
            "Content-Type: application/fhir+json\r\nContent-Length: 200\r\n\r\n{\"resourceType\"").encode(),
            timeout=15)
        checks.check(f"slow body (Content-Length 200, 15 bytes, then silence) is disconnected (took {took:.2f}s)",
                     closed and took < 10, f"closed={closed} after {took:.1f}s, got {raw[:100]!r}")
        t.still_fine("slowloris body")
        took = trickle(gw.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 200,
                       every_s=0.1, limit_s=5)
        checks.check(f"trickling slowloris (1 header byte / 100 ms) is cut off by the total request timeout "
                     f"(took {took:.2f}s)" if took else "trickling slowloris is cut off",
                     took is not None and took < 3, "still connected after 5 s")
        t.still_fine("trickling slowloris")
        raw, closed, took = raw_exchange(gw.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n\r\n",
                                         shut_wr=True, timeout=15)
        checks.check("half-closed connection (request then SHUT_WR) still gets its 200", status_of(raw) == 200
                     and b"CapabilityStatement" in raw, f"got {raw[:200]!r} closed={closed}")
        raw, closed, took = raw_exchange(gw.port, (
            f"GET /fhir/Patient?_summary=count HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gw.token}\r\n"
            "Accept: application/fhir+json\r\n\r\n").encode(), shut_wr=True, timeout=15)
        checks.check("half-closed authorized search still gets its 200", status_of(raw) == 200,
                     f"got {raw[:200]!r}")
        t.still_fine("half-close")
        raw, closed, _ = raw_exchange(gw.port, b"GET /fhir/metadata HTTP/1.1\r\nHost: x\r\nX-Big: "
                                      + b"a" * (64 * 1024) + b"\r\n\r\n", timeout=10)
        checks.check("header over header_limit_bytes -> 431/400 or closed",
                     status_of(raw) in (400, 431) or (closed and not raw), f"got {raw[:120]!r} closed={closed}")
        t.still_fine("huge header")
        raw, closed, _ = raw_exchange(gw.port, bytes.fromhex("160301020001") + secrets.token_bytes(512), timeout=10)
        checks.check("TLS ClientHello on the plain port -> 400 or closed",
                     status_of(raw) == 400 or (closed and not raw), f"got {raw[:120]!r} closed={closed}")
        t.still_fine("TLS on plain port")
        raw, closed, _ = raw_exchange(gw.port, b"\x00\xff garbage \r\n\r\n", timeout=10)
        checks.check("binary garbage request line -> 400 or closed", status_of(raw) == 400 or (closed and not raw),
                     f"got {raw[:120]!r}")
        t.still_fine("garbage request line")

        print("bad search input (docs/search.md): 400 with an OperationOutcome naming the parameter")
        accept = {"Accept": "application/fhir+json"}
        t.expect("search: impossible date (Feb 30)", "GET", "/fhir/Patient?birthdate=2026-02-30", None, accept,
                 400, "birthdate")
        t.expect("search: impossible date (month 13)", "GET", "/fhir/Observation?date=ge2020-13", None, accept,
                 400, "date")
        t.expect("search: unknown modifier", "GET", "/fhir/Patient?name:fuzzy=ann", None, accept, 400, "name")
        t.expect("search: modifier not allowed for the type (:exact on a token)", "GET",
                 "/fhir/Patient?gender:exact=female", None, accept, 400, "gender")
        t.expect("search: ambiguous chain (subject.name: Patient, Location, …)", "GET",
                 "/fhir/Observation?subject.name=peter", None, accept, 400, "subject")
        t.expect("search: unknown name inside a chain", "GET", "/fhir/Observation?subject:Patient.nothing=x", None,
                 accept, 400, "nothing")
        t.expect("search: _count beyond the limit (1001 > max_page_size 1000)", "GET", "/fhir/Patient?_count=1001",
                 None, accept, 400, "_count")
        t.expect("search: Prefer handling=strict with an unknown parameter", "GET", "/fhir/Patient?frobnicate=1",
                 None, {**accept, "Prefer": "handling=strict"}, 400, "frobnicate")
        status, _, data = gw.request("GET", "/fhir/Patient?frobnicate=1", None, accept)
        lenient = json.loads(data) if status == 200 else {}
        checks.check("search: without strict handling the unknown parameter is ignored (200, not in self link)",
                     status == 200 and all("frobnicate" not in link.get("url", "")
                                           for link in lenient.get("link", [])), f"{status} {data[:300]!r}")
        t.expect("search: malformed prefix value (xx5)", "GET", "/fhir/Observation?value-quantity=xx5", None,
                 accept, 400, "value-quantity")
        t.expect("search: damaged paging cursor", "GET", "/fhir/Patient?_cursor=not-a-cursor", None, accept, 400)
        t.expect("search: unknown _sort parameter", "GET", "/fhir/Patient?_sort=nosuchparam", None, accept, 400,
                 "_sort")

        print("no resource content in the log")
        marker = "Qzxvbn" + secrets.token_hex(4)
        gw.json("POST", "/fhir/Patient", {"resourceType": "Patient", "name": [{"family": marker, "given": [marker + "g"]}],
                                          "birthDate": "1901-02-03"}, expect=201)
        t.baseline = t.snapshot()
        t.expect("invalid Patient carrying the marker", "POST", "/fhir/Patient",
                 {"resourceType": "Patient", "name": [{"family": marker}], "birthDate": marker}, JSON_CT, 400)
        t.expect("malformed JSON carrying the marker", "POST", "/fhir/Patient",
                 ('{"resourceType":"Patient","name":[{"family":"' + marker + '"').encode(), JSON_CT, 400)
        gw.request("GET", f"/fhir/Patient?identifier=urn:x|{marker}")
        log = gw.log_text()
        checks.check("resource content (a distinctive family name) never appears in stderr", marker not in log,
                     next((line for line in log.splitlines() if marker in line), ""))
        checks.check("the bearer token never appears in stderr", gw.token not in log)
        checks.check("the log is not empty (it was captured)", "listening on" in log)

        code = gw.stop()
        checks.check("SIGTERM exits 0 after all that", code == 0, f"exit code {code}")
    except Exception:
        print("---- daemon log (tail) ----\n" + gw.log_tail(), file=sys.stderr)
        raise
    finally:
        gw.cleanup()
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
