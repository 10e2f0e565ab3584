#!/usr/bin/python3
"""Loads a small demo clinic into a running clinic-gateway, for trying the README searches.

    packaging/demo-data.py [--url http://127.0.0.1:8080/fhir] [--token=TOKEN] [--wait SECONDS]

The data is generated here, in code, from a fixed seed: every run builds the same resources.
Lakeside Community Health Centre in Kisumu, Kenya (an Organization and a Location hierarchy
region -> district -> clinic -> two wards, plus an outreach post, with positions), 25
Patients, their Encounters (coded with a small is-a CodeSystem of visit reasons), vital signs
and blood-pressure panels (LOINC, UCUM), HbA1c results, Conditions, Immunizations (CVX), a
List of patients due for follow-up, the visit-reason CodeSystem and a ValueSet of vital-sign
codes with an expansion.

Everything goes in one transaction Bundle. Entries refer to each other by urn:uuid fullUrls,
which the server rewrites to Type/id.

Re-running does not duplicate anything: every entry is a PUT to a fixed id (all ids start
with "demo-"), so a second run writes a new version of the same resources, never a second
copy. Fixed ids also let the README name them (`Location/demo-district`, `_list=demo-follow-up`).

--token defaults to the contents of var/demo-token (written by ./run.sh) in this repository.
Prints one summary line; on any non-2xx answer it prints the status and the
OperationOutcome's diagnostics and exits 1.

tests/integration/demo_searches_test.py imports build_resources() to compute the expected
answers of the README searches. Standard library only (Debian's /usr/bin/python3).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

SEED = 20260101
EAT = timezone(timedelta(hours=3))  # Kenya: East Africa Time, no daylight saving
FIRST_VISIT = date(2025, 1, 6)
LAST_VISIT = date(2026, 10, 30)
AGE_REFERENCE = date(2026, 6, 30)  # ages below are ages on this day

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
MRN = "http://clinic.example/mrn"
VISIT_REASON = "http://clinic.example/CodeSystem/visit-reason"
VITAL_SIGNS_VS = "http://clinic.example/ValueSet/vital-signs"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# (given, family, gender, age group): c child under 5, t 9-17, a 18-59, e 60-88.
PEOPLE = [
    ("Achieng", "Odhiambo", "female", "a"), ("Otieno", "Ochieng", "male", "e"),
    ("Akinyi", "Owino", "female", "c"), ("Brian", "Omondi", "male", "a"),
    ("Adhiambo", "Onyango", "female", "a"), ("Kevin", "Odhiambo", "male", "c"),
    ("Wanjiru", "Kamau", "female", "e"), ("Joseph", "Mwangi", "male", "a"),
    ("Chebet", "Kiprop", "female", "t"), ("Faith", "Wekesa", "female", "a"),
    ("Moses", "Barasa", "male", "e"), ("Chinedu", "Okafor", "male", "a"),
    ("Ngozi", "Adeyemi", "female", "a"), ("Kwame", "Mensah", "male", "e"),
    ("Ama", "Boateng", "female", "c"), ("Fatou", "Diallo", "female", "a"),
    ("Aminata", "Traoré", "female", "t"), ("Oluwaseun", "Adebayo", "male", "a"),
    ("Aisha", "Mohammed", "female", "c"), ("Hassan", "Abdi", "male", "a"),
    ("Grace", "Nakato", "female", "a"), ("Daniel", "Mugisha", "male", "c"),
    ("Priya", "Patel", "female", "e"), ("John", "Smith", "male", "a"),
    ("María", "García", "female", "a"),
]
AGE_RANGES = {"c": (0, 4), "t": (9, 17), "a": (18, 59), "e": (60, 88)}

# The visit-reason CodeSystem: (code, display, children).
VISIT_REASONS = [
    ("chronic", "Chronic disease follow-up", [
        ("hypertension", "Hypertension review", []),
        ("diabetes", "Diabetes review", []),
    ]),
    ("acute", "Acute illness", [
        ("fever", "Fever", [("malaria", "Suspected malaria", [])]),
        ("respiratory", "Respiratory infection", []),
        ("diarrhoea", "Diarrhoeal disease", []),
    ]),
    ("preventive", "Preventive care", [
        ("immunization", "Immunization", []),
        ("antenatal", "Antenatal care", []),
        ("well-child", "Well-child visit", []),
    ]),
]

VITALS = {  # LOINC code: (display, UCUM code, unit text)
    "8867-4": ("Heart rate", "/min", "beats/minute"),
    "29463-7": ("Body weight", "kg", "kg"),
    "8310-5": ("Body temperature", "Cel", "°C"),
    "85354-9": ("Blood pressure panel with all children optional", None, None),
}
SYSTOLIC, DIASTOLIC, HBA1C = "8480-6", "8462-4", "4548-4"

VACCINES = {  # CVX code: display
    "19": "BCG", "102": "DTP-Hib-Hep B", "133": "Pneumococcal conjugate PCV 13",
    "119": "rotavirus, live, monovalent", "178": "Non-US bivalent oral polio vaccine (types 1 and 3)",
    "04": "M/R", "62": "HPV, quadrivalent", "139": "Td(adult) unspecified formulation",
    "208": "COVID-19, mRNA, LNP-S, PF, 30 mcg/0.3 mL dose",
}
INFANT_VACCINES = ["19", "102", "133", "119", "178"]

CLINIC_POSITION = (-0.0946, 34.7617)  # Lakeside Community Health Centre, Kisumu


def urn(rtype: str, rid: str) -> str:
    """The urn:uuid fullUrl of a demo resource (stable: derived from Type/id)."""
    return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"http://clinic.example/{rtype}/{rid}"))


def ref(rtype: str, rid: str, display: str | None = None) -> dict:
    r = {"reference": urn(rtype, rid)}
    if display:
        r["display"] = display
    return r


def coding(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def instant(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def reason_display(code: str) -> str:
    def walk(concepts):
        for c, d, kids in concepts:
            if c == code:
                return d
            found = walk(kids)
            if found:
                return found
        return None
    return walk(VISIT_REASONS)


class Person:
    """What the generator knows about one patient while it builds their visits."""

    def __init__(self, resource: dict, group: str):
        self.resource = resource
        self.group = group
        self.born = date.fromisoformat(resource["birthDate"])
        self.adult = group in ("a", "e")
        self.hypertensive = self.diabetic = self.pregnant = False
        self.adult_weight = 70.0
        self.infant_vaccines_due = list(INFANT_VACCINES)


class DemoClinic:
    """Builds the resources; one instance per build, driven by one seeded Random."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.resources: list[dict] = []
        self.counters = Counter()

    def add(self, resource: dict) -> dict:
        self.resources.append(resource)
        return resource

    def next_id(self, prefix: str, width: int) -> str:
        self.counters[prefix] += 1
        return f"demo-{prefix}-{self.counters[prefix]:0{width}d}"

    # ---- place ----------------------------------------------------------------------

    def place(self) -> None:
        self.add({
            "resourceType": "Organization", "id": "demo-org",
            "identifier": [{"system": "http://clinic.example/org", "value": "LCHC"}],
            "active": True,
            "type": [coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov",
                            "Healthcare Provider")],
            "name": "Lakeside Community Health Centre",
            "telecom": [{"system": "phone", "value": "+254 57 202 0000", "use": "work"}],
            "address": [{"line": ["Oginga Odinga Street"], "city": "Kisumu", "district": "Kisumu Central",
                         "country": "KE"}],
        })
        locations = [
            ("demo-region", "Kisumu County", "jdn", "Jurisdiction", None, None),
            ("demo-district", "Kisumu Central Sub-County", "jdn", "Jurisdiction", "demo-region", None),
            ("demo-clinic", "Lakeside Community Health Centre", "bu", "Building", "demo-district",
             CLINIC_POSITION),
            ("demo-ward-opd", "Outpatient Department", "wa", "Ward", "demo-clinic", (-0.0944, 34.7615)),
            ("demo-ward-mch", "Maternal and Child Health Clinic", "wa", "Ward", "demo-clinic",
             (-0.0949, 34.7620)),
            ("demo-outreach", "Kombewa Outreach Post", "si", "Site", "demo-district", (-0.1039, 34.5167)),
        ]
        for lid, name, ptype, pdisplay, parent, position in locations:
            loc = {
                "resourceType": "Location", "id": lid, "status": "active", "name": name, "mode": "instance",
                "physicalType": coding("http://terminology.hl7.org/CodeSystem/location-physical-type",
                                       ptype, pdisplay),
                "managingOrganization": ref("Organization", "demo-org"),
            }
            if parent:
                loc["partOf"] = ref("Location", parent)
            if position:
                loc["position"] = {"latitude": position[0], "longitude": position[1]}
            self.add(loc)

    # ---- people ---------------------------------------------------------------------

    def patient(self, n: int, given: str, family: str, gender: str, group: str) -> dict:
        lo, hi = AGE_RANGES[group]
        born = AGE_REFERENCE - timedelta(days=self.rng.randint(lo * 365, hi * 365 + 364))
        return self.add({
            "resourceType": "Patient", "id": f"demo-patient-{n:02d}",
            "identifier": [{
                "use": "usual",
                "type": coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number"),
                "system": MRN, "value": f"MRN-{1000 + n}"}],
            "active": True,
            "name": [{"use": "official", "family": family, "given": [given]}],
            "telecom": [{"system": "phone", "use": "mobile",
                         "value": f"+254 7{self.rng.randint(10, 99)} {self.rng.randint(100, 999)} "
                                  f"{self.rng.randint(100, 999)}"}],
            "gender": gender,
            "birthDate": born.isoformat(),
            "address": [{"city": "Kisumu", "district": "Kisumu Central", "country": "KE"}],
            "managingOrganization": ref("Organization", "demo-org"),
        })

    def condition(self, patient: dict, snomed: str, display: str, onset: date) -> None:
        self.add({
            "resourceType": "Condition", "id": self.next_id("condition", 2),
            "clinicalStatus": coding("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
            "verificationStatus": coding("http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                         "confirmed", "Confirmed"),
            "category": [coding("http://terminology.hl7.org/CodeSystem/condition-category",
                                "problem-list-item", "Problem List Item")],
            "code": coding(SNOMED, snomed, display),
            "subject": ref("Patient", patient["id"]),
            "onsetDateTime": onset.isoformat(),
        })

    # ---- visits ---------------------------------------------------------------------

    def visit_days(self, count: int) -> list[date]:
        span = (LAST_VISIT - FIRST_VISIT).days
        days = set()
        while len(days) < count:
            d = FIRST_VISIT + timedelta(days=self.rng.randint(0, span))
            if d.weekday() < 5:  # the clinic is open on weekdays
                days.add(d)
        return sorted(days)

    def encounter(self, patient: dict, day: date, reason: str, ward: str) -> dict:
        start = datetime(day.year, day.month, day.day, self.rng.randint(8, 15),
                         self.rng.choice([0, 10, 20, 30, 40, 50]), tzinfo=EAT)
        end = start + timedelta(minutes=self.rng.randint(15, 90))
        return self.add({
            "resourceType": "Encounter", "id": self.next_id("encounter", 3), "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                      "display": "ambulatory"},
            "subject": ref("Patient", patient["id"]),
            "period": {"start": instant(start), "end": instant(end)},
            "reasonCode": [coding(VISIT_REASON, reason, reason_display(reason))],
            "location": [{"location": ref("Location", ward), "status": "completed"}],
            "serviceProvider": ref("Organization", "demo-org"),
        })

    def observation(self, enc: dict, category: str, code: str, display: str, minutes: int, **value) -> None:
        start = datetime.fromisoformat(enc["period"]["start"])
        self.add({
            "resourceType": "Observation", "id": self.next_id("obs", 4), "status": "final",
            "category": [coding(OBS_CATEGORY, category, category.replace("-", " ").capitalize())],
            "code": coding(LOINC, code, display),
            "subject": enc["subject"],
            "encounter": ref("Encounter", enc["id"]),
            "effectiveDateTime": instant(start + timedelta(minutes=minutes)),
            **value,
        })

    @staticmethod
    def quantity(value, ucum: str, unit: str) -> dict:
        return {"value": value, "unit": unit, "system": UCUM, "code": ucum}

    def vital(self, enc: dict, code: str, value) -> None:
        display, ucum, unit = VITALS[code]
        self.observation(enc, "vital-signs", code, display, 5, valueQuantity=self.quantity(value, ucum, unit))

    def blood_pressure(self, enc: dict, hypertensive: bool) -> int:
        """Adds a panel; returns its systolic value."""
        systolic = self.rng.randint(138, 176) if hypertensive else self.rng.randint(100, 134)
        diastolic = self.rng.randint(84, 104) if hypertensive else self.rng.randint(62, 86)
        components = [
            {"code": coding(LOINC, SYSTOLIC, "Systolic blood pressure"),
             "valueQuantity": self.quantity(systolic, "mm[Hg]", "mmHg")},
            {"code": coding(LOINC, DIASTOLIC, "Diastolic blood pressure"),
             "valueQuantity": self.quantity(diastolic, "mm[Hg]", "mmHg")},
        ]
        self.observation(enc, "vital-signs", "85354-9", VITALS["85354-9"][0], 8, component=components)
        return systolic

    def hba1c(self, enc: dict, value: float) -> None:
        self.observation(enc, "laboratory", HBA1C, "Hemoglobin A1c/Hemoglobin.total in Blood", 30,
                         valueQuantity=self.quantity(value, "%", "%"))

    def immunization(self, patient: dict, enc: dict, cvx: str) -> None:
        start = datetime.fromisoformat(enc["period"]["start"])
        self.add({
            "resourceType": "Immunization", "id": self.next_id("immunization", 3), "status": "completed",
            "vaccineCode": coding(CVX, cvx, VACCINES[cvx]),
            "patient": ref("Patient", patient["id"]),
            "encounter": ref("Encounter", enc["id"]),
            "occurrenceDateTime": instant(start + timedelta(minutes=15)),
            "primarySource": True,
            "location": enc["location"][0]["location"],
            "lotNumber": f"LOT{self.rng.randint(10000, 99999)}",
        })

    def weight_kg(self, age_days: int, adult_weight: float) -> float:
        if age_days < 365:
            w = 3.4 + age_days / 30.4 * 0.55
        elif age_days < 18 * 365:
            w = 9.5 + (age_days / 365 - 1) * 2.9
        else:
            w = adult_weight
        return round(w * self.rng.uniform(0.95, 1.05), 1)

    def heart_rate(self, age_days: int) -> int:
        if age_days < 365:
            return self.rng.randint(110, 150)
        if age_days < 12 * 365:
            return self.rng.randint(80, 120)
        return self.rng.randint(58, 96)

    def person(self, n: int, given: str, family: str, gender: str, group: str, follow_up: list) -> None:
        """One patient, their conditions and two or three visits; appends them to follow_up when due."""
        p = Person(self.patient(n, given, family, gender, group), group)
        p.hypertensive = p.adult and self.rng.random() < (0.55 if group == "e" else 0.3)
        p.diabetic = p.adult and self.rng.random() < (0.3 if group == "e" else 0.12)
        p.pregnant = (gender == "female" and group == "a" and (AGE_REFERENCE - p.born).days < 40 * 365
                      and self.rng.random() < 0.5)
        if p.hypertensive:
            self.condition(p.resource, "38341003", "Hypertensive disorder, systemic arterial",
                           FIRST_VISIT - timedelta(days=self.rng.randint(100, 3000)))
        if p.diabetic:
            self.condition(p.resource, "44054006", "Diabetes mellitus type 2",
                           FIRST_VISIT - timedelta(days=self.rng.randint(100, 3000)))
        p.adult_weight = self.rng.uniform(48, 96)
        due = False
        for i, day in enumerate(self.visit_days(self.rng.randint(2, 3))):
            age_days = (day - p.born).days
            if age_days < 0:
                continue  # not born yet on that day
            reason, ward = self.visit_reason(p, first=i == 0)
            enc = self.encounter(p.resource, day, reason, ward)
            due = self.measure(p, enc, age_days, reason, first=i == 0) or due
            self.vaccinate(p, enc, age_days, reason)
        if due:
            follow_up.append(p.resource)

    def visit_reason(self, p: "Person", first: bool) -> tuple[str, str]:
        """(visit-reason code, ward id) of one visit."""
        if p.pregnant and first:
            return "antenatal", "demo-ward-mch"
        if p.hypertensive and p.diabetic:
            return "chronic", "demo-ward-opd"
        if p.hypertensive:
            return "hypertension", "demo-ward-opd"
        if p.diabetic:
            return "diabetes", "demo-ward-opd"
        if p.group == "c":
            return self.rng.choice(["immunization", "well-child", "fever", "malaria", "diarrhoea"]), "demo-ward-mch"
        return self.rng.choice(["fever", "malaria", "respiratory", "diarrhoea", "immunization"]), "demo-ward-opd"

    def measure(self, p: "Person", enc: dict, age_days: int, reason: str, first: bool) -> bool:
        """The visit's vital signs and labs; True when one calls for follow-up."""
        fever = reason in ("fever", "malaria")
        self.vital(enc, "8867-4", self.heart_rate(age_days) + (12 if fever else 0))
        self.vital(enc, "29463-7", self.weight_kg(age_days, p.adult_weight))
        self.vital(enc, "8310-5", round(self.rng.uniform(38.0, 39.6) if fever else self.rng.uniform(36.3, 37.3), 1))
        due = False
        if age_days >= 18 * 365:
            due = self.blood_pressure(enc, p.hypertensive) > 140
        if p.diabetic or (p.adult and first and self.rng.random() < 0.3):
            value = round(self.rng.uniform(6.8, 9.6) if p.diabetic else self.rng.uniform(5.0, 6.4), 1)
            self.hba1c(enc, value)
            due = due or value >= 6.5
        return due

    def vaccinate(self, p: "Person", enc: dict, age_days: int, reason: str) -> None:
        """The vaccines given at the visit: tetanus at antenatal care, the schedule for infants."""
        if reason == "antenatal":
            self.immunization(p.resource, enc, "139")
        if reason not in ("immunization", "well-child"):
            return
        if age_days < 2 * 365 and p.infant_vaccines_due:
            for cvx in p.infant_vaccines_due[:self.rng.randint(1, 3)]:
                self.immunization(p.resource, enc, cvx)
                p.infant_vaccines_due.remove(cvx)
        else:
            self.immunization(p.resource, enc, {"c": "04", "t": "62"}.get(p.group, "208"))

    # ---- terminology and lists --------------------------------------------------------

    def terminology(self) -> None:
        def concepts(items):
            out = []
            for code, display, kids in items:
                c = {"code": code, "display": display}
                if kids:
                    c["concept"] = concepts(kids)
                out.append(c)
            return out
        self.add({
            "resourceType": "CodeSystem", "id": "demo-visit-reason", "url": VISIT_REASON, "version": "1",
            "name": "VisitReason", "title": "Reasons for a clinic visit", "status": "active",
            "publisher": "Lakeside Community Health Centre", "caseSensitive": True,
            "hierarchyMeaning": "is-a", "content": "complete", "concept": concepts(VISIT_REASONS),
        })
        codes = [c for c in VITALS]
        self.add({
            "resourceType": "ValueSet", "id": "demo-vital-signs", "url": VITAL_SIGNS_VS, "version": "1",
            "name": "DemoVitalSigns", "title": "Vital signs recorded at the clinic", "status": "active",
            "compose": {"include": [{"system": LOINC,
                                     "concept": [{"code": c, "display": VITALS[c][0]} for c in codes]}]},
            "expansion": {"timestamp": "2026-01-01T00:00:00+03:00", "total": len(codes),
                          "contains": [{"system": LOINC, "code": c, "display": VITALS[c][0]} for c in codes]},
        })

    def follow_up_list(self, patients: list[dict]) -> None:
        self.add({
            "resourceType": "List", "id": "demo-follow-up", "status": "current", "mode": "working",
            "title": "Patients due for follow-up (raised blood pressure or HbA1c)",
            "date": "2026-10-31T17:00:00+03:00",
            "source": ref("Organization", "demo-org"),
            "entry": [{"item": ref("Patient", p["id"], " ".join(p["name"][0]["given"]) + " "
                                   + p["name"][0]["family"])} for p in patients],
        })

    def build(self) -> list[dict]:
        self.place()
        self.terminology()
        follow_up: list[dict] = []
        for n, (given, family, gender, group) in enumerate(PEOPLE, start=1):
            self.person(n, given, family, gender, group, follow_up)
        self.follow_up_list(follow_up)
        return self.resources


def build_resources() -> list[dict]:
    """Every demo resource, in a stable order; references are urn:uuid (see urn())."""
    return DemoClinic().build()


def transaction_bundle(resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle", "type": "transaction",
        "entry": [{"fullUrl": urn(r["resourceType"], r["id"]), "resource": r,
                   "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                  for r in resources],
    }


def summary(resources: list[dict]) -> str:
    counts = Counter(r["resourceType"] for r in resources)
    return ", ".join(f"{n} {t}" for t, n in counts.items())


# ---- talking to the server ----------------------------------------------------------

class LoadError(Exception):
    pass


def outcome_text(body: bytes) -> str:
    """The diagnostics of an OperationOutcome (or of a Bundle entry's outcome), else the raw body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body[:500].decode("utf-8", "replace")
    issues = doc.get("issue", []) if isinstance(doc, dict) else []
    texts = []
    for issue in issues:
        text = issue.get("diagnostics") or issue.get("details", {}).get("text") or issue.get("code", "")
        where = ", ".join(issue.get("expression", []))
        texts.append(f"{text} ({where})" if where else text)
    return "; ".join(texts) if texts else json.dumps(doc)[:500]


def wait_for_server(base: str, seconds: float) -> None:
    """Polls the open /metadata endpoint until it answers 200 or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(base + "/metadata", timeout=5) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() >= deadline:
            raise LoadError(f"{base} did not answer within {seconds:g} s")
        time.sleep(0.5)


def post_transaction(base: str, token: str, bundle: dict, timeout: float = 120) -> dict:
    req = urllib.request.Request(
        base, data=json.dumps(bundle).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
                 "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as e:
        raise LoadError(f"POST {base} -> HTTP {e.code}: {outcome_text(e.read())}") from None
    except (urllib.error.URLError, OSError) as e:
        raise LoadError(f"cannot reach {base}: {getattr(e, 'reason', e)}") from None
    answer = json.loads(body)
    for i, entry in enumerate(answer.get("entry", [])):
        response = entry.get("response", {})
        if not response.get("status", "").startswith("2"):
            outcome = json.dumps(response.get("outcome", {})).encode()
            raise LoadError(f"entry {i}: {response.get('status')}: {outcome_text(outcome)}")
    return answer


def default_token() -> str | None:
    path = Path(__file__).resolve().parent.parent / "var" / "demo-token"
    return path.read_text().strip() if path.is_file() else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Load the demo clinic into clinic-gateway.")
    parser.add_argument("--url", default="http://127.0.0.1:8080/fhir", help="FHIR base URL")
    parser.add_argument("--token", help="bearer token (default: the repository's var/demo-token)")
    parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="wait up to this long for the server to answer first (default 0)")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")
    token = args.token or default_token()
    if not token:
        print("demo-data: no token: pass --token, or start ./run.sh once (it writes var/demo-token)",
              file=sys.stderr)
        return 1
    resources = build_resources()
    try:
        if args.wait > 0:
            wait_for_server(base, args.wait)
        started = time.monotonic()
        post_transaction(base, token, transaction_bundle(resources))
    except LoadError as e:
        print(f"demo-data: {e}", file=sys.stderr)
        return 1
    print(f"demo-data: loaded {len(resources)} resources into {base} in "
          f"{time.monotonic() - started:.1f} s: {summary(resources)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
