#!/usr/bin/python3
"""Every access to patient data through the real daemon leaves an audit record (issue 6).

    /usr/bin/python3 self_audit_test.py <clinic-gateway>

Against one daemon with MLLP on: a Patient and an Observation written over FHIR, read,
searched and $everything'd; an ADT^A28 and a PDQ query (QBP^Q22) over MLLP (Debian
python3-hl7's client); a failed login at /auth/token. Then the ITI-81 search
(GET /fhir/AuditEvent) must find, by patient: the writes (create/update), the read, the
search with its query, $everything, the HL7v2 feed (ITI-30, by the patient's identifier) and
the PDQ query (ITI-21); the failed login (110114, outcome 4); the gateway's start. After a
restart its stop is there too. Reading the audit trail is itself recorded (110101). The log
holds no patient data. Skips (77) when python3-hl7 is missing.
"""

import base64
import json
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

try:
    import hl7
    import hl7.client
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
    sys.exit(77)

MRN_SYSTEM = "http://kisumu.example/mrn"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def send(port: int, text: str):
    client = hl7.client.MLLPClient("127.0.0.1", port)
    try:
        client.socket.settimeout(30)
        return hl7.parse(client.send_message(text).decode("utf-8"))
    finally:
        client.close()


def audit_search(gw: GatewayProcess, at_least: int = 1, **params) -> list[dict]:
    """The records the ITI-81 search finds. Records of reads reach audit.db up to 100 ms
    after the read (they are batched): ask again, within a bounded time, until `at_least`
    are there."""
    query = urllib.parse.urlencode({k.replace("__", "."): v for k, v in params.items()})
    deadline = time.monotonic() + 10
    while True:
        bundle, _ = gw.json("GET", "/fhir/AuditEvent?" + query + "&_count=200")
        found = [e["resource"] for e in bundle.get("entry", [])]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def subtypes(events: list[dict]) -> set[str]:
    return {s["code"] for e in events for s in e.get("subtype", [])}


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    overrides = {"mllp": {"enabled": True, "port": 0},
                 "hl7.identifier_systems": {"KISUMU": MRN_SYSTEM}}
    with GatewayProcess(binary, overrides, name="self-audit") as gw:
        gw.json("PUT", "/fhir/Patient/pa1", {
            "resourceType": "Patient", "id": "pa1", "name": [{"family": "Achieng"}],
            "identifier": [{"system": MRN_SYSTEM, "value": "MRN-SA1"}]}, expect=201)
        gw.json("POST", "/fhir/Observation", {
            "resourceType": "Observation", "status": "final", "code": {"text": "weight"},
            "subject": {"reference": "Patient/pa1"}}, expect=201)
        gw.json("GET", "/fhir/Patient/pa1")
        gw.json("GET", "/fhir/Observation?subject=Patient/pa1")
        gw.json("GET", "/fhir/Patient/pa1/$everything")

        ack = send(gw.mllp_port, "\r".join([
            "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121080000+0300||ADT^A28^ADT_A05|SA-1|P|2.5.1",
            "EVN|A28|20261121080000+0300",
            "PID|1||MRN-SA2^^^KISUMU^MR||Otieno^Brian||19900101|M"]) + "\r")
        checks.check("the ADT^A28 is AA", str(ack.segment("MSA")[1]) == "AA", str(ack))
        answer = send(gw.mllp_port, "\r".join([
            "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121080100+0300||QBP^Q22^QBP_Q21|SA-2|P|2.5",
            "QPD|IHE PDQ Query|Q-SA-2|@PID.5.1.1^Otieno",
            "RCP|I|10^RD"]) + "\r")
        checks.check("the PDQ query is answered", str(answer.segment("MSA")[1]) == "AA",
                     str(answer))
        status, _, _ = gw.request(
            "POST", "/auth/token", "grant_type=password&username=nobody&password=wrong",
            {"Content-Type": "application/x-www-form-urlencoded"}, auth=False)
        checks.check("a login with a wrong password is refused", status in (400, 401))

        mine = audit_search(gw, at_least=5, patient="Patient/pa1")
        kinds = subtypes(mine)
        for kind in ("update", "create", "read", "search-type", "operation"):
            checks.check(f"FHIR {kind} of patient pa1 is recorded", kind in kinds, str(kinds))
        search = [e for e in mine if any(s["code"] == "search-type" for s in e["subtype"])]
        queries = [base64.b64decode(x["query"]).decode() for e in search
                   for x in e.get("entity", []) if "query" in x]
        checks.check("the search is recorded with its query",
                     "subject=Patient/pa1" in queries, str(queries))
        agent = mine[0]["agent"][0] if mine else {}
        checks.check("the requestor and its address are named",
                     agent.get("requestor") is True
                     and agent.get("network", {}).get("address") == "127.0.0.1", str(agent))

        fed = audit_search(gw, **{"patient__identifier": f"{MRN_SYSTEM}|MRN-SA2"})
        checks.check("the HL7v2 feed is recorded by the patient's identifier",
                     any(e["type"]["code"] == "110110" for e in fed), json.dumps(fed)[:400])
        pdq = audit_search(gw, type=f"{DCM}|110112", subtype="ITI-21")
        checks.check("the PDQ query is recorded (110112, ITI-21)", len(pdq) == 1,
                     json.dumps(pdq)[:400])
        logins = audit_search(gw, type=f"{DCM}|110114", outcome="4")
        checks.check("the failed login is recorded (110114, outcome 4)", len(logins) >= 1)
        starts = audit_search(gw, type=f"{DCM}|110100", subtype=f"{DCM}|110120")
        checks.check("the gateway's start is recorded", len(starts) == 1)
        used = audit_search(gw, type=f"{DCM}|110101")
        checks.check("reading the audit trail is recorded too (110101)", len(used) >= 1)

        checks.check("the daemon stops cleanly", gw.stop() == 0, gw.log_tail())
        gw.start()
        stops = audit_search(gw, type=f"{DCM}|110100", subtype=f"{DCM}|110121")
        checks.check("the gateway's stop is recorded, and survives the restart", len(stops) == 1)
        log = gw.log_text()
        named = [w for w in ("Achieng", "MRN-SA1", "MRN-SA2", "Otieno") if w in log]
        checks.check("the log names no patient", not named, str(named))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
