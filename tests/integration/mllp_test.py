#!/usr/bin/python3
"""The HL7v2 MLLP listener of a real daemon, driven by Debian's python3-hl7 client.

    /usr/bin/python3 mllp_test.py <clinic-gateway>

Every message gets an answer that python3-hl7 parses, with MSA-2 = the message's MSH-10 and
swapped sender/receiver; message types without a handler are AR with ERR 200, bytes that are
not HL7 AR with 100; a rejected (AR) message sent again is processed again, while an accepted
one sent again gets the very same answer bytes from the archive, also after a restart; several connections at once all get their answers. The patient
identity feed (ADT^A28 / A31 / A08) is AA and stores one Patient per identifier, found by
FHIR search with the configured identifier system, updated in place by a later message; an
admission (A01) and its discharge (A03) under one visit number are one finished Encounter. A
VXU^V04 is AA and its Immunization is found by patient and vaccine code, and updated in place
when the message is resent under a new control id. A lab result (ORU^R01) is AA; its
Observation is found by code with its Patient included, its DiagnosticReport by result. A
PDQ query (QBP^Q22) finds the patient by name and birth date (RSP^K22 with its PID); a PIX
query (QBP^Q23) returns its identifier in another domain, and an unknown identifier is AE 204.
Skips (exit 77) when python3-hl7 is missing.
"""

import json
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

try:
    import hl7
    import hl7.client
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
    sys.exit(77)


def message(control_id: str, kind: str = "ORM^O01^ORM_O01") -> str:
    return "\r".join([
        f"MSH|^~\\&|LAB^1.2.3.4^ISO|KISUMU|GW|GW|20261121080000||{kind}|{control_id}|P|2.5.1",
        "PID|1||42^^^KISUMU^MR||Otieno^Ben",
        "ORC|NW|ORD-1",
    ]) + "\r"


def send(port: int, text: str) -> str:
    client = hl7.client.MLLPClient("127.0.0.1", port)
    try:
        client.socket.settimeout(30)
        return client.send_message(text).decode("utf-8")
    finally:
        client.close()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    overrides = {"mllp": {"enabled": True, "port": 0}, "hl7": {"application_name": "TEST-GW"},
                 "hl7.identifier_systems": {"KISUMU": "http://kisumu.example/mrn"}}
    with GatewayProcess(binary, overrides, name="mllp") as gw:
        checks.check("the daemon logs its MLLP port", gw.mllp_port is not None, gw.log_tail())
        port = gw.mllp_port

        answer = send(port, message("ORD-0001"))
        ack = hl7.parse(answer)
        checks.check("the answer parses with python3-hl7", str(ack.segment("MSH")[0]) == "MSH")
        msa = ack.segment("MSA")
        checks.check("MSA-2 is the message's control id", str(msa[2]) == "ORD-0001", answer)
        checks.check("an unsupported type is AR", str(msa[1]) == "AR", answer)
        err = ack.segment("ERR")
        checks.check("with ERR-3 200 (unsupported message type)", str(err[3][0][0]) == "200", answer)
        msh = ack.segment("MSH")
        checks.check("sender and receiver are swapped",
                     str(msh[3]) == "GW" and str(msh[5]) == "LAB^1.2.3.4^ISO", answer)
        checks.check("the version is the message's", str(msh[12]) == "2.5.1", answer)

        again = hl7.parse(send(port, message("ORD-0001")))
        checks.check("a resend after AR is processed again: the same rejection, a new answer",
                     str(again.segment("MSA")[1]) == "AR" and str(again.segment("MSA")[2]) == "ORD-0001"
                     and str(again.segment("MSH")[10]) != str(msh[10]), str(again))

        garbage = hl7.parse(send(port, "this is not an HL7 message\r"))
        checks.check("bytes that are not HL7 are AR 100",
                     str(garbage.segment("MSA")[1]) == "AR"
                     and str(garbage.segment("ERR")[3][0][0]) == "100")

        # Eight senders at once, each with its own messages.
        answers: dict[str, str] = {}
        lock = threading.Lock()

        def sender(n: int) -> None:
            for i in range(10):
                cid = f"C{n}-{i}"
                text = send(port, message(cid))
                with lock:
                    answers[cid] = text

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        checks.check("80 messages on 8 connections all answered", len(answers) == 80, str(len(answers)))
        checks.check("each answer names its own message",
                     all(str(hl7.parse(a).segment("MSA")[2]) == cid for cid, a in answers.items()))

        # The patient identity feed.
        def adt(control_id: str, event: str, family: str) -> str:
            return "\r".join([
                f"MSH|^~\\&|EMR|KISUMU|GW|GW|20261121080000+0300||ADT^{event}^ADT_A05|{control_id}|P|2.5.1",
                f"EVN|{event}|20261121080000+0300",
                f"PID|1||MRN-77^^^KISUMU^MR||{family}^Grace||19850412|F|||12 Oginga Odinga St^^Kisumu^^40100^KE",
            ]) + "\r"

        registered_raw = send(port, adt("ADT-1", "A28", "Achieng"))
        registered = hl7.parse(registered_raw)
        checks.check("ADT^A28 is AA", str(registered.segment("MSA")[1]) == "AA", str(registered))
        found, _ = gw.json("GET", "/fhir/Patient?identifier=http://kisumu.example/mrn|MRN-77")
        checks.check("one Patient with the MRN in the configured system",
                     found.get("total") == 1, json.dumps(found)[:400])
        patient = found["entry"][0]["resource"] if found.get("entry") else {}
        checks.check("name, birth date and gender mapped",
                     patient.get("name", [{}])[0].get("family") == "Achieng"
                     and patient.get("birthDate") == "1985-04-12" and patient.get("gender") == "female",
                     json.dumps(patient)[:400])
        updated = hl7.parse(send(port, adt("ADT-2", "A31", "Odhiambo")))
        checks.check("ADT^A31 is AA", str(updated.segment("MSA")[1]) == "AA", str(updated))
        after, _ = gw.json("GET", "/fhir/Patient?identifier=http://kisumu.example/mrn|MRN-77")
        checks.check("the same Patient is updated, not duplicated",
                     after.get("total") == 1 and after["entry"][0]["resource"]["id"] == patient.get("id")
                     and after["entry"][0]["resource"]["name"][0]["family"] == "Odhiambo",
                     json.dumps(after)[:400])
        bad = hl7.parse(send(port, "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121||ADT^A28^ADT_A05|ADT-3|P|2.5.1\rPID|1||\r"))
        checks.check("a PID without identifiers is AE 101 at PID-3",
                     str(bad.segment("MSA")[1]) == "AE" and str(bad.segment("ERR")[3][0][0]) == "101"
                     and str(bad.segment("ERR")[2]) == "PID^1^3", str(bad))
        # A visit: admitted (A01), then discharged (A03) under the same visit number (PV1-19).
        def visit(control_id: str, event: str, discharged: str = "") -> str:
            pv1 = ["PV1", "1", "I", "WARD3^301^B"] + [""] * 15 + ["V-9001^^^KISUMU^VN"] + [""] * 25
            pv1[44] = "20261121081500+0300"
            if discharged:
                pv1.append(discharged)
            return adt(control_id, event, "Odhiambo").replace("ADT_A05", "ADT_A01") + "|".join(pv1) + "\r"

        admit = hl7.parse(send(port, visit("ADT-4", "A01")))
        checks.check("ADT^A01 is AA", str(admit.segment("MSA")[1]) == "AA", str(admit))
        discharge = hl7.parse(send(port, visit("ADT-5", "A03", "20261123110000+0300")))
        checks.check("ADT^A03 is AA", str(discharge.segment("MSA")[1]) == "AA", str(discharge))
        visits, _ = gw.json("GET", "/fhir/Encounter?identifier=V-9001")
        encounter = visits["entry"][0]["resource"] if visits.get("entry") else {}
        checks.check("one Encounter for the visit, finished, of the same Patient",
                     visits.get("total") == 1 and encounter.get("status") == "finished"
                     and encounter.get("period", {}).get("end") == "2026-11-23T11:00:00+03:00"
                     and encounter.get("subject", {}).get("reference") == "Patient/" + patient.get("id", ""),
                     json.dumps(visits)[:600])

        # Immunizations: a CDC-style VXU^V04 becomes an Immunization of the Patient.
        vxu = "\r".join([
            "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121090000+0300||VXU^V04^VXU_V04|VXU-1|P|2.5.1",
            "PID|1||MRN-77^^^KISUMU^MR||Odhiambo^Grace||19850412|F",
            "ORC|RE||IZ-900^KISUMU",
            "RXA|0|1|20261121085500||141^Influenza, seasonal, injectable^CVX|0.5|mL^^UCUM||"
            "00^new immunization record^NIP001||||||LOT-9||SKB^GlaxoSmithKline^MVX|||CP|A",
            "RXR|C28161^Intramuscular^NCIT|LD^left deltoid^HL70163",
            "OBX|1|CE|64994-7^Vaccine funding program eligibility^LN|1|V01^Not VFC eligible^HL70064||||||F",
        ]) + "\r"
        given = hl7.parse(send(port, vxu))
        checks.check("VXU^V04 is AA", str(given.segment("MSA")[1]) == "AA", str(given))
        shots, _ = gw.json("GET", f"/fhir/Immunization?patient=Patient/{patient.get('id')}"
                                  "&vaccine-code=http://hl7.org/fhir/sid/cvx|141")
        shot = shots["entry"][0]["resource"] if shots.get("entry") else {}
        checks.check("the Immunization is found by patient and vaccine code",
                     shots.get("total") == 1 and shot.get("status") == "completed"
                     and shot.get("lotNumber") == "LOT-9"
                     and shot.get("occurrenceDateTime") == "2026-11-21T08:55:00+03:00",
                     json.dumps(shots)[:600])
        resent = hl7.parse(send(port, vxu.replace("|VXU-1|", "|VXU-2|")))
        again_shots, _ = gw.json("GET", "/fhir/Immunization?identifier=IZ-900")
        checks.check("a resend with a new control id updates the same Immunization",
                     str(resent.segment("MSA")[1]) == "AA" and again_shots.get("total") == 1
                     and again_shots["entry"][0]["resource"]["id"] == shot.get("id"),
                     json.dumps(again_shots)[:400])

        # Results: ORU^R01 → Patient, DiagnosticReport and Observations, found by FHIR search.
        oru = "\r".join([
            "MSH|^~\\&|LAB|KISUMU|GW|GW|20261121090000+0300||ORU^R01^ORU_R01|ORU-1|P|2.5.1",
            "PID|1||MRN-77^^^KISUMU^MR||Odhiambo^Grace||19850412|F",
            "ORC|RE|PL-5|FIL-5^LAB",
            "OBR|1|PL-5|FIL-5^LAB|24326-1^Electrolytes^LN|||20261121080000+0300" + "|" * 18 + "F",
            "OBX|1|NM|2823-3^Potassium^LN||4.20|mmol/L^^UCUM|3.5-5.1|N|||F",
            "NTE|1|L|Specimen not hemolysed",
        ]) + "\r"
        result = hl7.parse(send(port, oru))
        checks.check("ORU^R01 is AA", str(result.segment("MSA")[1]) == "AA", str(result))
        found, _ = gw.json("GET", "/fhir/Observation?code=http://loinc.org|2823-3"
                                  "&_include=Observation:subject")
        kinds = sorted(e["resource"]["resourceType"] for e in found.get("entry", []))
        checks.check("the Observation is found by code, its Patient included",
                     found.get("total") == 1 and kinds == ["Observation", "Patient"],
                     json.dumps(found)[:600])
        observation = next((e["resource"] for e in found.get("entry", [])
                            if e["resource"]["resourceType"] == "Observation"), {})
        quantity = observation.get("valueQuantity", {})
        checks.check("value in UCUM units, reference range and note mapped",
                     quantity.get("value") == 4.2 and quantity.get("code") == "mmol/L"
                     and quantity.get("system") == "http://unitsofmeasure.org"
                     and observation.get("referenceRange", [{}])[0].get("text") == "3.5-5.1"
                     and observation.get("note", [{}])[0].get("text") == "Specimen not hemolysed",
                     json.dumps(observation)[:600])
        checks.check("the subject is the identity feed's Patient",
                     observation.get("subject", {}).get("reference") == f"Patient/{patient.get('id')}",
                     json.dumps(observation)[:400])
        reports, _ = gw.json("GET", f"/fhir/DiagnosticReport?result=Observation/{observation.get('id')}")
        checks.check("the DiagnosticReport is found by its result",
                     reports.get("total") == 1
                     and reports["entry"][0]["resource"]["status"] == "final",
                     json.dumps(reports)[:400])

        # Queries: PDQ (QBP^Q22) by demographics, PIX (QBP^Q23) by identifier.
        pdq = hl7.parse(send(port, "\r".join([
            "MSH|^~\\&|EMR|KISUMU|GW|GW|20261121100000||QBP^Q22^QBP_Q21|PDQ-1|P|2.5",
            "QPD|IHE PDQ Query|TAG-1|@PID.5.1.1^odhiambo~@PID.7^19850412",
            "RCP|I|10^RD"]) + "\r"))
        checks.check("PDQ is answered with RSP^K22, AA, QAK OK and the query tag",
                     str(pdq.segment("MSH")[9]) == "RSP^K22^RSP_K21"
                     and str(pdq.segment("MSA")[1]) == "AA" and str(pdq.segment("MSA")[2]) == "PDQ-1"
                     and str(pdq.segment("QAK")[1]) == "TAG-1" and str(pdq.segment("QAK")[2]) == "OK",
                     str(pdq))
        pid = pdq.segment("PID")
        checks.check("the PID holds the patient with its KISUMU identifier",
                     str(pid[3]) == "MRN-77^^^KISUMU^MR" and str(pid[5][0][0]) == "Odhiambo"
                     and str(pid[7]) == "19850412", str(pid))
        two_ids = adt("ADT-9", "A31", "Odhiambo").replace(
            "MRN-77^^^KISUMU^MR", "MRN-77^^^KISUMU^MR~NID-5^^^&2.16.404.1&ISO^NI")
        checks.check("an A31 adds a national id", str(hl7.parse(send(port, two_ids)).segment("MSA")[1]) == "AA")
        pix = hl7.parse(send(port, "\r".join([
            "MSH|^~\\&|LAB|KISUMU|GW|GW|20261121100000||QBP^Q23^QBP_Q21|PIX-1|P|2.5",
            "QPD|IHE PIX Query|TAG-2|MRN-77^^^KISUMU|^^^&2.16.404.1&ISO",
            "RCP|I"]) + "\r"))
        checks.check("PIX is answered with RSP^K23 and the national id in PID-3",
                     str(pix.segment("MSH")[9]) == "RSP^K23^RSP_K23"
                     and str(pix.segment("MSA")[1]) == "AA"
                     and str(pix.segment("PID")[3]) == "NID-5^^^&2.16.404.1&ISO^NI", str(pix))
        unknown = hl7.parse(send(port, "\r".join([
            "MSH|^~\\&|LAB|KISUMU|GW|GW|20261121100000||QBP^Q23^QBP_Q21|PIX-2|P|2.5",
            "QPD|IHE PIX Query|TAG-3|NOBODY^^^KISUMU", "RCP|I"]) + "\r"))
        checks.check("PIX for an unknown identifier is AE 204 at QPD^1^3^1^1",
                     str(unknown.segment("MSA")[1]) == "AE" and str(unknown.segment("QAK")[2]) == "AE"
                     and str(unknown.segment("ERR")[2]) == "QPD^1^3^1^1"
                     and str(unknown.segment("ERR")[3][0][0]) == "204", str(unknown))

        checks.check("SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
        gw.start()
        after_restart = send(gw.mllp_port, adt("ADT-1", "A28", "Achieng"))
        checks.check("after a restart a resend of an accepted message gets its first answer bytes",
                     after_restart == registered_raw)
        checks.check("the log holds no message content",
                     all(w not in gw.log_text() for w in ("Otieno", "ORD-0001", "Achieng", "MRN-77", "LOT-9", "FIL-5")))
        checks.check("SIGTERM stops the daemon with 0 again", gw.stop() == 0, gw.log_tail())
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
