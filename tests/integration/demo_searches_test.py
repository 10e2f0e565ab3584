#!/usr/bin/python3
"""The README's "Try the searches" work on the demo data, and loading it twice duplicates nothing.

    /usr/bin/python3 demo_searches_test.py <clinic-gateway>

Runs packaging/demo-data.py against the daemon as a user would (--url, --token), then every
`curl … 'http://127.0.0.1:8080/fhir/…'` line between the <!-- demo-searches --> markers of
README.md, sent as written (only host and port change), so the README and this test cannot
drift. Each must answer 200 with a non-empty searchset. Each also has an exact expectation
in EXPECTED, computed here from the generator's resources (demo-data.py build_resources()),
never from the server: Bundle.total, and where it matters the match ids, their order, and
the included resources. A README search without an entry in EXPECTED, or an entry the
README no longer has, fails the test: add the expectation when you add a search.

Then it loads the data again and checks that every type's count is unchanged, and that a
wrong token makes the loader exit 1 with the server's diagnostics.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import REQUEST_TIMEOUT_S, Checks, GatewayProcess, binary_from_argv  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
LOADER = REPO / "packaging" / "demo-data.py"
BEGIN, END = "<!-- demo-searches -->", "<!-- /demo-searches -->"
CURL_LINE = re.compile(r"^curl\s.*'http://127\.0\.0\.1:8080(/fhir/[^']+)'\s*$")
JSON = {"Accept": "application/fhir+json"}


def load_generator():
    spec = importlib.util.spec_from_file_location("demo_data", LOADER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_searches() -> list[str]:
    """The request targets (/fhir/…) of the curl lines between the markers, in order."""
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise SystemExit(f"README.md lacks the {BEGIN} … {END} markers")
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    searches = []
    for line in block.splitlines():
        if line.startswith("curl"):
            m = CURL_LINE.match(line)
            if not m:
                raise SystemExit(f"README.md: a curl line this test cannot read: {line}")
            searches.append(m.group(1))
    return searches


# ---- expectations, computed from the generated resources ------------------------------

def fold(s: str) -> str:
    """Case- and accent-insensitive form, as string search promises (docs/search.md)."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


@dataclass
class Expected:
    total: int
    matches: list[str] | None = None  # Type/id of the page's matches; ordered when `ordered`
    ordered: bool = False
    included: set[str] | None = None  # Type/id of the page's includes


class DemoData:
    """The generator's resources, with references resolved from urn:uuid to Type/id."""

    def __init__(self, generator):
        self.resources = generator.build_resources()
        self.urn_to_ref = {generator.urn(r["resourceType"], r["id"]): key(r) for r in self.resources}

    def of(self, rtype: str) -> list[dict]:
        return [r for r in self.resources if r["resourceType"] == rtype]

    def get(self, reference: str) -> dict:
        return next(r for r in self.resources if key(r) == reference)

    def target(self, reference: dict) -> str:
        return self.urn_to_ref[reference["reference"]]

    def observations(self, loinc: str) -> list[dict]:
        return [o for o in self.of("Observation")
                if any(c["system"] == "http://loinc.org" and c["code"] == loinc for c in o["code"]["coding"])]


def key(resource: dict) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def name_parts(patient: dict) -> list[str]:
    return [fold(p) for n in patient.get("name", []) for p in [n.get("family", "")] + n.get("given", [])]


def distance_m(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine), R as the server uses."""
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def concept_codes_below(concepts: list[dict], code: str, inside: bool = False) -> set[str]:
    """`code` and every code nested under it in a CodeSystem's concept tree."""
    out = set()
    for c in concepts:
        here = inside or c["code"] == code
        if here:
            out.add(c["code"])
        out |= concept_codes_below(c.get("concept", []), code, here)
    return out


EXPECTED = {}


def expect(search: str):
    def register(fn):
        EXPECTED["/fhir/" + search] = fn
        return fn
    return register


@expect("Observation?code=http://loinc.org|8867-4&_sort=-date&_count=5")
def heart_rates_newest_first(d: DemoData) -> Expected:
    rates = sorted(d.observations("8867-4"), key=lambda o: instant(o["effectiveDateTime"]), reverse=True)
    return Expected(len(rates), [key(o) for o in rates[:5]], ordered=True)


@expect("Observation?code=http://loinc.org|29463-7&date=ge2026-01-01&date=lt2026-02-01")
def weights_in_january(d: DemoData) -> Expected:
    lo, hi = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 2, 1, tzinfo=timezone.utc)
    found = [key(o) for o in d.observations("29463-7") if lo <= instant(o["effectiveDateTime"]) < hi]
    return Expected(len(found), found)


@expect("Patient?name=odh")
def name_prefix(d: DemoData) -> Expected:
    found = [key(p) for p in d.of("Patient") if any(part.startswith("odh") for part in name_parts(p))]
    return Expected(len(found), found)


@expect("Observation?subject:Patient.name=okafor&code=http://loinc.org|85354-9")
def chained_name(d: DemoData) -> Expected:
    found = [key(o) for o in d.observations("85354-9")
             if any(part.startswith("okafor") for part in name_parts(d.get(d.target(o["subject"]))))]
    return Expected(len(found), found)


@expect("Patient?_has:Observation:subject:code-value-quantity=http://loinc.org|4548-4$ge6.5")
def has_high_hba1c(d: DemoData) -> Expected:
    # ge6.5 with one decimal stored: the stored value is 6.5 or more.
    found = {d.target(o["subject"]) for o in d.observations("4548-4")
             if Decimal(str(o["valueQuantity"]["value"])) >= Decimal("6.5")}
    return Expected(len(found), sorted(found))


@expect("Patient?identifier=http://clinic.example/mrn|MRN-1003"
        "&_revinclude=Observation:subject&_revinclude=Immunization:patient")
def patient_with_revincludes(d: DemoData) -> Expected:
    patient = next(p for p in d.of("Patient") if p["identifier"][0]["value"] == "MRN-1003")
    observations = {key(o) for o in d.of("Observation") if d.target(o["subject"]) == key(patient)}
    immunizations = {key(i) for i in d.of("Immunization") if d.target(i["patient"]) == key(patient)}
    return Expected(1, [key(patient)], included=observations | immunizations)


@expect("Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140&_include=Observation:subject")
def systolic_over_140(d: DemoData) -> Expected:
    high = [o for o in d.observations("85354-9")
            if any(c["code"]["coding"][0]["code"] == "8480-6" and c["valueQuantity"]["value"] > 140
                   for c in o["component"])]
    return Expected(len(high), [key(o) for o in high], included={d.target(o["subject"]) for o in high})


@expect("Location?near=-0.0917|34.7680|5|km")
def near_kisumu(d: DemoData) -> Expected:
    found = [key(loc) for loc in d.of("Location") if "position" in loc
             and distance_m(-0.0917, 34.7680, loc["position"]["latitude"], loc["position"]["longitude"]) <= 5000]
    return Expected(len(found), found)


@expect("Location?partof:below=Location/demo-district")
def below_district(d: DemoData) -> Expected:
    below, frontier = set(), {"Location/demo-district"}
    while frontier:
        frontier = {key(loc) for loc in d.of("Location")
                    if "partOf" in loc and d.target(loc["partOf"]) in frontier} - below
        below |= frontier
    return Expected(len(below), sorted(below))


@expect("Patient?_list=demo-follow-up")
def follow_up_list(d: DemoData) -> Expected:
    items = [d.target(e["item"]) for e in d.get("List/demo-follow-up")["entry"]]
    return Expected(len(items), items)


@expect("Encounter?reason-code:below=http://clinic.example/CodeSystem/visit-reason|chronic")
def chronic_visits(d: DemoData) -> Expected:
    system = d.get("CodeSystem/demo-visit-reason")
    codes = concept_codes_below(system["concept"], "chronic")
    found = [key(e) for e in d.of("Encounter")
             if any(c["system"] == system["url"] and c["code"] in codes
                    for rc in e.get("reasonCode", []) for c in rc["coding"])]
    return Expected(len(found), found)


@expect("Observation?code:in=http://clinic.example/ValueSet/vital-signs&_summary=count")
def vital_signs_count(d: DemoData) -> Expected:
    vs = d.get("ValueSet/demo-vital-signs")
    codes = {(c["system"], c["code"]) for c in vs["expansion"]["contains"]}
    found = [o for o in d.of("Observation") if any((c["system"], c["code"]) in codes for c in o["code"]["coding"])]
    return Expected(len(found))


# ---- the test ------------------------------------------------------------------------

def run_loader(gw: GatewayProcess, token: str) -> subprocess.CompletedProcess:
    # "--token=…" in one argument: a token may start with "-", which argparse would take for an
    # option.
    return subprocess.run([sys.executable, str(LOADER), "--url", gw.url(), f"--token={token}", "--wait", "30"],
                          capture_output=True, text=True, timeout=REQUEST_TIMEOUT_S)


def check_search(gw: GatewayProcess, checks: Checks, target: str, expected: Expected | None) -> None:
    status, _, body = gw.request("GET", target, None, JSON)
    if not checks.check(f"{target}: 200", status == 200, f"{status} {body[:500]!r}"):
        return
    bundle = json.loads(body)
    entries = bundle.get("entry", [])
    matches = [f"{e['resource']['resourceType']}/{e['resource']['id']}"
               for e in entries if e.get("search", {}).get("mode") == "match"]
    included = {f"{e['resource']['resourceType']}/{e['resource']['id']}"
                for e in entries if e.get("search", {}).get("mode") == "include"}
    total = bundle.get("total")
    checks.check(f"{target}: non-empty", bool(matches) or (total or 0) > 0, f"total {total}, {len(entries)} entries")
    if expected is None:
        return
    checks.check(f"{target}: total {expected.total}", total == expected.total, f"total {total}")
    if expected.matches is not None:
        got = matches if expected.ordered else sorted(matches)
        want = expected.matches if expected.ordered else sorted(expected.matches)
        checks.check(f"{target}: the expected {len(want)} matches" + (" in order" if expected.ordered else ""),
                     got == want, f"got {got}, want {want}")
    if expected.included is not None:
        checks.check(f"{target}: the expected {len(expected.included)} includes", included == expected.included,
                     f"missing {sorted(expected.included - included)}, extra {sorted(included - expected.included)}")


def type_counts(gw: GatewayProcess, types) -> dict[str, int]:
    out = {}
    for t in types:
        doc, _ = gw.json("GET", f"/fhir/{t}?_summary=count")
        out[t] = doc.get("total")
    return out


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    generator = load_generator()
    data = DemoData(generator)
    want_counts = {}
    for r in data.resources:
        want_counts[r["resourceType"]] = want_counts.get(r["resourceType"], 0) + 1
    searches = readme_searches()
    checks.check(f"README has 8-12 demo searches ({len(searches)})", 8 <= len(searches) <= 12)
    checks.check("every README search has an expectation here", all(s in EXPECTED for s in searches),
                 f"none for {[s for s in searches if s not in EXPECTED]}")
    checks.check("every expectation here is a README search", all(s in searches for s in EXPECTED),
                 f"not in the README: {[s for s in EXPECTED if s not in searches]}")

    with GatewayProcess(binary, name="demo") as gw:
        first = run_loader(gw, gw.token)
        checks.check("demo-data.py loads: exit 0 and a summary", first.returncode == 0
                     and f"loaded {len(data.resources)} resources" in first.stdout,
                     f"exit {first.returncode}\n{first.stdout}{first.stderr}")
        print(first.stdout.strip())
        checks.check("every type is stored once", type_counts(gw, want_counts) == want_counts,
                     f"{type_counts(gw, want_counts)} != {want_counts}")

        for target in searches:
            fn = EXPECTED.get(target)
            check_search(gw, checks, target, fn(data) if fn else None)

        again = run_loader(gw, gw.token)
        checks.check("a second load: exit 0", again.returncode == 0, f"{again.stdout}{again.stderr}")
        checks.check("a second load duplicates nothing", type_counts(gw, want_counts) == want_counts,
                     f"{type_counts(gw, want_counts)} != {want_counts}")
        patient, _ = gw.json("GET", "/fhir/Patient/demo-patient-01")
        checks.check("a second load updates in place (version 2)", patient["meta"].get("versionId") == "2",
                     f"versionId {patient['meta'].get('versionId')}")

        refused = run_loader(gw, "not-the-token")
        checks.check("a wrong token: exit 1 with the HTTP status and diagnostics",
                     refused.returncode == 1 and "HTTP 401" in refused.stderr,
                     f"exit {refused.returncode}\n{refused.stdout}{refused.stderr}")
        print(refused.stderr.strip())

        code = gw.stop()
        checks.check("SIGTERM: exit code 0", code == 0, f"exit code {code}\n{gw.log_tail()}")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
