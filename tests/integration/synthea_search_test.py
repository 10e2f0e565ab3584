#!/usr/bin/python3
"""FHIR search over the Synthea corpus, checked against answers computed in this test.

    /usr/bin/python3 synthea_search_test.py <clinic-gateway> [synthea dir]

1. Loads every bundle of ../shared/data/synthea (the two 0-* batches, then the 20 patient
   transactions) with the loader shared with synthea_load_test.py (gateway_process.py).
2. Rewrites the submitted JSON the way the server must (urn:uuid and conditional references ->
   `Type/id`, from the transaction responses) and computes, in Python, from that JSON only
   (never from the server's index), the expected result of a broad set of searches: token,
   string (case/accent-insensitive prefix, :exact, :contains), date and quantity prefixes
   (ranges from the written precision, UCUM conversion mm -> cm), :not, :missing, :[type],
   :of-type, chains, _has, compartments (Patient/<id>/Observation and Patient/<id>/*),
   _include/_revinclude, system search with _type, POST _search.
3. For each search compares Bundle.total AND the ids collected by following every `next`
   link (no id may repeat across pages), and prints a table search -> expected / total / ids.
4. Checks _sort order across pages, _summary=count, _elements, and the Android FHIR SDK
   download pattern per type (`_sort=_lastUpdated&_lastUpdated=gt<instant>&_count=100`, then
   an incremental round that must be empty, then exactly the one Patient updated).

Exit 0 = pass, 1 = fail, 77 = skipped (no ../shared/data). Stdlib only.
A check listed in KNOWN_DAEMON_BUGS is reported XFAIL (with the reason) instead of failing; if
it passes it is reported XPASS as a warning so the entry can be removed.
"""

import datetime
import decimal
import json
import sys
import time
import unicodedata
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (SKIP, Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             default_shared_data, load_bundles, load_synthea, rewrite_references)

ACCEPT = {"Accept": "application/fhir+json"}
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
MAX_PAGES = 400

# check name -> reason. Only genuine daemon bugs that are reported go here.
KNOWN_DAEMON_BUGS: dict[str, str] = {}

# The R4 Patient CompartmentDefinition, for the resource types in the corpus: the search
# parameters that put a resource in the compartment (written out from the spec, not taken from
# the server). A resource is in Patient/<id>'s compartment when one of the elements behind these
# parameters refers to Patient/<id>; for Synthea every such element is a plain Reference, so the
# test looks for the reference in the elements below.
PATIENT_COMPARTMENT = {
    "AllergyIntolerance": ["patient", "recorder", "asserter"],
    "CarePlan": ["subject", "author", "contributor", "activity"],   # patient, performer
    "CareTeam": ["subject", "participant"],                          # patient, participant
    "Claim": ["patient", "payee"],
    "Condition": ["subject", "asserter"],                            # patient, asserter
    "Device": ["patient"],
    "DiagnosticReport": ["subject"],
    "DocumentReference": ["subject", "author"],
    "Encounter": ["subject"],                                        # patient
    "ExplanationOfBenefit": ["patient", "payee"],
    "ImagingStudy": ["subject"],                                     # patient
    "Immunization": ["patient"],
    "MedicationAdministration": ["subject", "performer"],            # patient, performer, subject
    "MedicationRequest": ["subject"],
    "Observation": ["subject", "performer"],
    "Procedure": ["subject", "performer"],                           # patient, performer
    "Provenance": ["target"],                                        # patient
    "SupplyDelivery": ["patient"],
}


# ---- independent evaluation helpers -----------------------------------------------------------

def norm(s: str) -> str:
    """FHIR string matching: case- and accent-insensitive."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).casefold()


def refs_in(value):
    """Every Reference.reference string anywhere inside a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference" and isinstance(v, str):
                yield v
            else:
                yield from refs_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from refs_in(v)


def ref(value) -> str | None:
    return value.get("reference") if isinstance(value, dict) else None


def codings(concept) -> list:
    return (concept or {}).get("coding", [])


def has_code(concept, system, code) -> bool:
    return any(c.get("system") == system and c.get("code") == code for c in codings(concept))


def _ms(dt: datetime.datetime) -> int:
    return int(dt.timestamp() * 1000)


def date_range(text: str) -> tuple[int, int]:
    """[begin, end) in UTC milliseconds implied by the precision of a FHIR date/dateTime/instant.
    A value without a zone is read as UTC."""
    utc = datetime.timezone.utc
    if len(text) == 4:
        y = int(text)
        return _ms(datetime.datetime(y, 1, 1, tzinfo=utc)), _ms(datetime.datetime(y + 1, 1, 1, tzinfo=utc))
    if len(text) == 7:
        y, m = int(text[:4]), int(text[5:7])
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        return _ms(datetime.datetime(y, m, 1, tzinfo=utc)), _ms(datetime.datetime(ny, nm, 1, tzinfo=utc))
    if len(text) == 10:
        d = datetime.datetime.fromisoformat(text).replace(tzinfo=utc)
        return _ms(d), _ms(d + datetime.timedelta(days=1))
    t = text.replace("Z", "+00:00")
    d = datetime.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=utc)
    time_part = text[11:].split("+")[0].split("-")[0].rstrip("Z")
    if "." in time_part:
        step = max(1, 10 ** (3 - len(time_part.split(".")[1])))   # ms; at least 1 ms
    elif time_part.count(":") == 2:
        step = 1000
    elif time_part.count(":") == 1:
        step = 60_000
    else:
        step = 3_600_000
    return _ms(d), _ms(d) + step


def number_range(written: str, factor: decimal.Decimal = decimal.Decimal(1)) -> tuple:
    """[low, high) implied by the written precision of a decimal ("100" -> [99.5, 100.5))."""
    d = decimal.Decimal(written)
    half = decimal.Decimal(1).scaleb(d.as_tuple().exponent) / 2
    return ((d - half) * factor, (d + half) * factor)


def prefix_match(prefix: str, low, high, qlow, qhigh) -> bool:
    """R4 §3.1.1.4.2: compare a stored range [low, high) with a search range [qlow, qhigh)."""
    eq = low >= qlow and high <= qhigh
    return {
        "eq": eq, "ne": not eq,
        "gt": high > qhigh, "lt": low < qlow,
        "ge": high > qhigh or low >= qlow, "le": low < qlow or high <= qhigh,
        "sa": low >= qhigh, "eb": high <= qlow,
    }[prefix]


def split_prefix(value: str) -> tuple[str, str]:
    if value[:2] in ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb"):
        return value[:2], value[2:]
    return "eq", value


def date_matches(stored_texts, query: str) -> bool:
    prefix, v = split_prefix(query)
    qlow, qhigh = date_range(v)
    return any(prefix_match(prefix, *date_range(s), qlow, qhigh) for s in stored_texts)


# ---- the server side ----------------------------------------------------------------------------

class Result:
    def __init__(self):
        self.total = None
        self.matches: list[str] = []
        self.includes: list[str] = []
        self.pages: list[dict] = []
        self.resources: dict[str, dict] = {}


class SearchFailed(Exception):
    pass


def path_of(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def key_of(resource) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def fetch_all(conn, method: str, path: str, body: str | None = None) -> Result:
    """The search, then every `next` link; matches and includes in the order received."""
    res = Result()
    headers = dict(ACCEPT)
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    while path:
        status, _, data = conn.request(method, path, body, headers)
        if status != 200:
            raise SearchFailed(f"{method} {path} -> HTTP {status}: {data[:400]!r}")
        b = json.loads(data)
        if b.get("resourceType") != "Bundle" or b.get("type") != "searchset":
            raise SearchFailed(f"{method} {path}: not a searchset Bundle: {data[:200]!r}")
        if not res.pages:
            res.total = b.get("total")
        res.pages.append(b)
        if len(res.pages) > MAX_PAGES:
            raise SearchFailed(f"{path}: more than {MAX_PAGES} pages; next links loop?")
        for e in b.get("entry", []):
            r = e["resource"]
            k = key_of(r)
            res.resources[k] = r
            (res.includes if e.get("search", {}).get("mode") == "include" else res.matches).append(k)
        nxt = [link["url"] for link in b.get("link", []) if link.get("relation") == "next"]
        method, body, path = "GET", None, (path_of(nxt[0]) if nxt else None)
        headers = dict(ACCEPT)
    return res


class SearchTest:
    def __init__(self, gw: GatewayProcess, checks: Checks):
        self.gw = gw
        self.checks = checks
        self.conn = gw.connection()
        self.table: list[tuple] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        reason = KNOWN_DAEMON_BUGS.get(name)
        if reason is None:
            return self.checks.check(name, ok, detail)
        if ok:
            self.checks.warn(f"{name} (XPASS: remove it from KNOWN_DAEMON_BUGS)", False, reason)
        else:
            print(f"  XFAIL {name}: {reason}\n        {detail[:600]}")
            sys.stdout.flush()
        return ok

    def get(self, path: str) -> Result | None:
        try:
            return fetch_all(self.conn, "GET", path)
        except (SearchFailed, OSError, ValueError) as e:
            self.conn.close()
            self.conn = self.gw.connection()
            return e

    def compare(self, name: str, query: str, expected, *, post: str | None = None) -> Result | None:
        """`query` is a path under /fhir (e.g. `Patient?gender=female`); POSTs `post` as a form
        body to it when given. Compares total and the match ids over all pages with `expected`."""
        expected = set(expected)
        path = "/fhir/" + query if query else "/fhir"
        try:
            res = fetch_all(self.conn, "POST" if post is not None else "GET", path, post)
        except (SearchFailed, OSError, ValueError) as e:
            self.table.append((name, len(expected), "error", "error", 0))
            self.conn.close()
            self.conn = self.gw.connection()
            self.check(f"{name}: {query}", False, str(e))
            return None
        got = set(res.matches)
        dupes = [k for k, n in Counter(res.matches).items() if n > 1]
        self.table.append((name, len(expected), res.total, len(got), len(res.pages)))
        missing, extra = sorted(expected - got), sorted(got - expected)
        ok = res.total == len(expected) and not missing and not extra and not dupes
        self.check(f"{name}: {query}{' (POST ' + post + ')' if post is not None else ''}", ok,
                   f"expected {len(expected)}, Bundle.total {res.total}, {len(got)} distinct ids over "
                   f"{len(res.pages)} pages; missing {missing[:5]}, unexpected {extra[:5]}, repeated {dupes[:5]}")
        return res

    def print_table(self):
        w = max(len(r[0]) for r in self.table)
        print(f"\n{'search'.ljust(w)}  expected  total  ids  pages")
        for name, exp, total, ids, pages in self.table:
            flag = "" if exp == ids and total in (exp, None) else "   <-- MISMATCH"
            print(f"{name.ljust(w)}  {exp!s:>8}  {total!s:>5}  {ids!s:>3}  {pages!s:>5}{flag}")
        print()


# ---- the test --------------------------------------------------------------------------------------

def run_searches(t: SearchTest, stored: dict[str, dict], load_start: str):
    by_type: dict[str, dict[str, dict]] = defaultdict(dict)
    for k, r in stored.items():
        by_type[r["resourceType"]][k] = r
    patients, observations = by_type["Patient"], by_type["Observation"]
    q = urllib.parse.quote

    def where(rtype, pred):
        return {k for k, r in by_type[rtype].items() if pred(r)}

    # -- token, string, date on Patient
    for g in ("female", "male"):
        t.compare(f"gender={g}", f"Patient?gender={g}", where("Patient", lambda r: r.get("gender") == g))
    t.compare("gender OR", "Patient?gender=female,male", where("Patient", lambda r: r.get("gender") in ("female", "male")))
    t.compare("gender:not", "Patient?gender:not=female", where("Patient", lambda r: r.get("gender") != "female"))
    t.compare("birthdate lt", "Patient?birthdate=lt1960", where("Patient", lambda r: date_matches([r["birthDate"]], "lt1960")))
    t.compare("birthdate AND", "Patient?birthdate=ge1980&birthdate=lt2000",
              where("Patient", lambda r: date_matches([r["birthDate"]], "ge1980") and date_matches([r["birthDate"]], "lt2000")))
    t.compare("birthdate eq month", "Patient?birthdate=1947-09",
              where("Patient", lambda r: date_matches([r["birthDate"]], "1947-09")))

    def family_prefix(value):
        return where("Patient", lambda r: any(norm(n.get("family", "")).startswith(norm(value)) for n in r.get("name", [])))

    def name_parts(r):
        for n in r.get("name", []):
            for key in ("family", "text"):
                if key in n:
                    yield n[key]
            for key in ("given", "prefix", "suffix"):
                yield from n.get(key, [])

    families = Counter(n["family"] for r in patients.values() for n in r.get("name", []) if "family" in n)
    accented = next((f for f in families if norm(f) != f.lower()), None)
    common = max(families, key=lambda f: (families[f], f))
    t.compare("family exact-case", f"Patient?family={q(common)}", family_prefix(common))
    t.compare("family upper-case", f"Patient?family={q(common.upper())}", family_prefix(common.upper()))
    t.compare("family prefix 'b'", "Patient?family=b", family_prefix("b"))
    if accented:  # e.g. Guzmán14, searched without the accent
        plain = "".join(c for c in unicodedata.normalize("NFKD", accented) if not unicodedata.combining(c))
        t.compare("family no-accent", f"Patient?family={q(plain[:5].upper())}", family_prefix(plain[:5]))
        t.compare("family with accent", f"Patient?family={q(accented)}", family_prefix(accented))
    given = sorted(patients.values(), key=lambda r: r["id"])[0]["name"][0]["given"][0]
    t.compare("name:exact", f"Patient?name:exact={q(given)}",
              where("Patient", lambda r: given in set(name_parts(r))))
    t.compare("name:exact wrong case", f"Patient?name:exact={q(given.lower())}",
              where("Patient", lambda r: given.lower() in set(name_parts(r))))
    t.compare("name:contains", "Patient?name:contains=ER",
              where("Patient", lambda r: any("er" in norm(p) for p in name_parts(r))))
    mr = next(i for i in given_patient_identifiers(patients) if has_code(i.get("type"), V2_0203, "MR"))
    t.compare("identifier:of-type", f"Patient?identifier:of-type={q(V2_0203 + '|MR|' + mr['value'], safe='|')}",
              where("Patient", lambda r: any(has_code(i.get("type"), V2_0203, "MR") and i.get("value") == mr["value"]
                                             for i in r.get("identifier", []))))

    # -- Observation tokens, dates, quantities
    code_count = Counter((c.get("system"), c.get("code")) for r in observations.values() for c in codings(r.get("code")))
    top5 = [sc for sc, _ in sorted(code_count.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    for system, code in top5:
        t.compare(f"code {code}", f"Observation?code={q(system + '|' + code, safe='|')}&_count=50",
                  where("Observation", lambda r: has_code(r.get("code"), system, code)))
    system, code = top5[0]
    t.compare(f"code {code} (no system)", f"Observation?code={code}",
              where("Observation", lambda r: any(c.get("code") == code for c in codings(r.get("code")))))
    for date in ("ge2015-01-01", "lt2012", "sa2019-06-30T12:00:00Z"):
        t.compare(f"code+date {date}", f"Observation?code={q(system + '|' + code, safe='|')}&date={q(date)}&_count=40",
                  where("Observation", lambda r: has_code(r.get("code"), system, code)
                        and date_matches(effective_texts(r), date)))

    def quantity_matches(r, loinc, query, unit, factor=decimal.Decimal(1)):
        """value-quantity: prefix + number with the query unit; the stored cm value is scaled."""
        vq = r.get("valueQuantity")
        if not has_code(r.get("code"), LOINC, loinc) or not vq or vq.get("system") != UCUM:
            return False
        prefix, number = split_prefix(query)
        qlow, qhigh = number_range(number, factor)
        low, high = number_range(json.dumps(vq["value"]))
        if vq.get("code") != unit:
            return False
        return prefix_match(prefix, low, high, qlow, qhigh)

    quantity_cases = [
        ("8302-2", "gt100", "cm", "cm", 1), ("8302-2", "le150", "cm", "cm", 1),
        ("29463-7", "lt60", "kg", "kg", 1), ("29463-7", "ge80.0", "kg", "kg", 1),
        ("8867-4", "gt100", "/min", "/min", 1),
        ("8302-2", "gt1000", "mm", "cm", decimal.Decimal("0.1")),   # UCUM conversion: mm -> cm
    ]
    for loinc, value, qunit, sunit, factor in quantity_cases:
        query = f"Observation?code={q(LOINC + '|' + loinc, safe='|')}&value-quantity={q(value + '|' + UCUM + '|' + qunit, safe='|')}"
        t.compare(f"value-quantity {loinc} {value} {qunit}", query,
                  where("Observation", lambda r: quantity_matches(r, loinc, value, sunit, decimal.Decimal(factor))))
    t.compare("value-quantity:missing", "Observation?value-quantity:missing=true&_count=200",
              where("Observation", lambda r: "valueQuantity" not in r and "valueSampledData" not in r))

    # -- references, chains, _has
    most_obs = Counter(ref(r.get("subject")) for r in observations.values()).most_common()
    sample = [most_obs[0][0], most_obs[len(most_obs) // 2][0], most_obs[-1][0]]
    for pid in sample:
        t.compare(f"subject {pid[:16]}", f"Observation?subject={pid}&_count=100",
                  where("Observation", lambda r: ref(r.get("subject")) == pid))
    t.compare("subject:Patient", f"Observation?subject:Patient={sample[1].split('/')[1]}",
              where("Observation", lambda r: ref(r.get("subject")) == sample[1]))
    females = {k for k, r in patients.items() if r.get("gender") == "female"}
    t.compare("chain patient.gender", "Observation?patient.gender=female&_count=500",
              where("Observation", lambda r: ref(r.get("subject")) in females))
    t.compare("chain subject:Patient.birthdate", "Encounter?subject:Patient.birthdate=lt1960&_count=100",
              where("Encounter", lambda r: ref(r.get("subject")) in
                    {k for k, p in patients.items() if date_matches([p["birthDate"]], "lt1960")}))
    cond_codes = Counter((c.get("system"), c.get("code")) for r in by_type["Condition"].values() for c in codings(r.get("code")))
    for (csys, ccode), _ in sorted(cond_codes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]:
        t.compare(f"_has Condition {ccode}", f"Patient?_has:Condition:patient:code={q(csys + '|' + ccode, safe='|')}",
                  {ref(r.get("subject")) for r in by_type["Condition"].values() if has_code(r.get("code"), csys, ccode)})
    t.compare("Immunization vaccine-code", f"Immunization?vaccine-code={q(CVX + '|140', safe='|')}&_count=100",
              where("Immunization", lambda r: has_code(r.get("vaccineCode"), CVX, "140")))
    t.compare("MedicationRequest active", "MedicationRequest?status=active",
              where("MedicationRequest", lambda r: r.get("status") == "active"))

    # -- compartments
    def in_compartment(r, pid):
        elems = PATIENT_COMPARTMENT.get(r["resourceType"])
        return elems is not None and any(x == pid for e in elems for x in refs_in(r.get(e)))

    for pid in sample:
        t.compare(f"compartment {pid[:16]}/Observation", f"{pid}/Observation?_count=100",
                  where("Observation", lambda r: in_compartment(r, pid)))
        t.compare(f"compartment {pid[:16]}/Encounter", f"{pid}/Encounter",
                  where("Encounter", lambda r: in_compartment(r, pid)))
    for pid in sample[1:]:
        expected = {k for k, r in stored.items() if in_compartment(r, pid)}
        res = t.get(f"/fhir/{pid}/*?_count=200")
        if isinstance(res, Result):
            # Whether Patient/<id>/* includes the Patient itself is not fixed by R4 (its
            # compartment parameter for Patient is `link`); compare without it.
            got = set(res.matches) - {pid}
            t.table.append((f"compartment {pid[:16]}/*", len(expected), res.total, len(got), len(res.pages)))
            # Patient/<id>/* is served like $everything, which sends no Bundle.total (0..1).
            t.check(f"compartment {pid}/*: every type of the compartment", got == expected and
                    res.total in (None, len(expected), len(expected) + 1),
                    f"expected {len(expected)} (+ the Patient?), total {res.total}, {len(got)} ids; "
                    f"missing {sorted(expected - got)[:5]}, unexpected {sorted(got - expected)[:5]}")
        else:
            t.check(f"compartment {pid}/*", False, str(res))

    # -- system search
    t.compare("system _type", "?_type=Patient,Organization&_count=100", set(patients) | set(by_type["Organization"]))
    t.compare("system _type + _id", f"?_type=Patient,Observation&_id={sample[0].split('/')[1]}", {sample[0]})

    # -- POST _search (form body) gives the same as GET
    t.compare("POST _search", "Patient/_search", where("Patient", lambda r: r.get("gender") == "female"), post="gender=female")
    t.compare("POST _search + paging", "Observation/_search",
              where("Observation", lambda r: has_code(r.get("code"), system, code)),
              post=f"code={q(system + '|' + code, safe='|')}&_count=30")

    # -- _include / _revinclude
    encounters = by_type["Encounter"]
    res = t.compare("_include Encounter:patient", "Encounter?_include=Encounter:patient&_count=100", set(encounters))
    if res:
        page_bad = []
        for i, page in enumerate(res.pages):
            ms = [e["resource"] for e in page.get("entry", []) if e.get("search", {}).get("mode") != "include"]
            inc = {key_of(e["resource"]) for e in page.get("entry", []) if e.get("search", {}).get("mode") == "include"}
            want = {ref(m.get("subject")) for m in ms}
            if inc != want:
                page_bad.append(f"page {i}: included {len(inc)}, referenced {len(want)}")
        referenced = {ref(r.get("subject")) for r in encounters.values()}
        t.check("_include Encounter:patient: per page, the included Patients are exactly the referenced ones",
                not page_bad and set(res.includes) == referenced,
                f"{page_bad[:3]}; all pages: {len(set(res.includes))} included vs {len(referenced)} referenced")
    res = t.compare("_revinclude Condition:patient", "Patient?_revinclude=Condition:patient&_count=6", set(patients))
    if res:
        page_bad = []
        for i, page in enumerate(res.pages):
            ms = {key_of(e["resource"]) for e in page.get("entry", []) if e.get("search", {}).get("mode") != "include"}
            inc = {key_of(e["resource"]) for e in page.get("entry", []) if e.get("search", {}).get("mode") == "include"}
            want = {k for k, r in by_type["Condition"].items() if ref(r.get("subject")) in ms}
            if inc != want:
                page_bad.append(f"page {i}: {len(inc)} included, {len(want)} expected")
        t.check("_revinclude Condition:patient: per page, exactly the Conditions of the page's Patients",
                not page_bad, "; ".join(page_bad[:3]))
    careplans = by_type["CarePlan"]
    addressed = {x for r in careplans.values() for x in refs_in(r.get("addresses"))}
    diabetes_like = sorted(addressed)[:30]  # at most 32 values per parameter
    if diabetes_like:
        ids = ",".join(k.split("/")[1] for k in diabetes_like)
        res = t.compare("_revinclude CarePlan:condition", f"Condition?_id={ids}&_revinclude=CarePlan:condition",
                        set(diabetes_like))
        if res:
            want = {k for k, r in careplans.items() if set(refs_in(r.get("addresses"))) & set(diabetes_like)}
            t.check("_revinclude CarePlan:condition: the CarePlans addressing those Conditions",
                    set(res.includes) == want, f"included {len(set(res.includes))}, expected {len(want)}; "
                    f"missing {sorted(want - set(res.includes))[:3]}, extra {sorted(set(res.includes) - want)[:3]}")

    # -- _sort across pages
    for sort, reverse in (("birthdate", False), ("-birthdate", True)):
        res = t.get(f"/fhir/Patient?_sort={sort}&_count=7")
        if isinstance(res, Result):
            got = [res.resources[k]["birthDate"] for k in res.matches]
            want = sorted((r["birthDate"] for r in patients.values()), reverse=reverse)
            t.check(f"Patient?_sort={sort}&_count=7: birthDates in order across {len(res.pages)} pages", got == want,
                    f"got {got}\nwant {want}")
        else:
            t.check(f"Patient?_sort={sort}", False, str(res))
    res = t.get(f"/fhir/Observation?code={q(system + '|' + code, safe='|')}&_sort=-date,_id&_count=25")
    if isinstance(res, Result):
        got = [(date_range(effective_texts(res.resources[k])[0])[0], k) for k in res.matches]
        ok = all(a[0] >= b[0] for a, b in zip(got, got[1:])) and len(got) == len(set(got)) == code_count[(system, code)]
        t.check("Observation?code&_sort=-date: newest first across pages, every match once", ok,
                f"{len(got)} rows ({len(set(got))} distinct) of {code_count[(system, code)]}")
    else:
        t.check("Observation?_sort=-date", False, str(res))

    # -- _summary=count, _total, _elements
    for query, expected in ((f"Observation?code={q(system + '|' + code, safe='|')}", code_count[(system, code)]),
                            ("Patient?gender=female", len(females)),
                            ("Encounter", len(encounters)),
                            ("Observation?patient.gender=female", len(where("Observation", lambda r: ref(r.get("subject")) in females)))):
        sep = "&" if "?" in query else "?"
        res = t.get(f"/fhir/{query}{sep}_summary=count")
        ok = isinstance(res, Result) and res.total == expected and not res.matches and len(res.pages) == 1
        t.check(f"{query}{sep}_summary=count = {expected}", ok,
                str(res) if not isinstance(res, Result) else f"total {res.total}, {len(res.matches)} entries")
    res = t.get("/fhir/Patient?_elements=id,birthDate&_count=50")
    if isinstance(res, Result):
        # R4: servers SHOULD return mandatory and modifier elements too (Patient.active,
        # deceased[x], modifierExtension), so those are allowed.
        allowed = {"resourceType", "id", "meta", "birthDate", "active", "deceasedBoolean", "deceasedDateTime",
                   "modifierExtension"}
        bad = [f"{k}: {sorted(r)}" for k, r in res.resources.items()
               if not set(r) <= allowed or r.get("birthDate") != stored[k]["birthDate"]]
        t.check("Patient?_elements=id,birthDate: only id, birthDate (meta and modifiers), values as stored",
                not bad and set(res.resources) == set(patients), f"{bad[:3]}; {len(res.resources)} resources")
        untagged = [k for k, r in res.resources.items()
                    if not any(tag.get("code") == "SUBSETTED" for tag in r.get("meta", {}).get("tag", []))]
        t.checks.warn("Patient?_elements: every resource tagged SUBSETTED", not untagged, f"untagged: {untagged[:3]}")
    else:
        t.check("Patient?_elements=id,birthDate", False, str(res))
    res = t.get("/fhir/Patient?_total=accurate&_count=5")
    t.check("Patient?_total=accurate&_count=5: total 20 with 5 entries per page",
            isinstance(res, Result) and res.total == len(patients) and len(res.pages[0].get("entry", [])) == 5,
            str(res) if not isinstance(res, Result) else f"total {res.total}")

    # -- the Android FHIR SDK download pattern, per type
    sdk_download(t, by_type, load_start, stored)


def given_patient_identifiers(patients):
    first = sorted(patients.values(), key=lambda r: r["id"])[0]
    return first.get("identifier", [])


def effective_texts(r) -> list[str]:
    if "effectiveDateTime" in r:
        return [r["effectiveDateTime"]]
    if "effectiveInstant" in r:
        return [r["effectiveInstant"]]
    return []


def sdk_download(t: SearchTest, by_type, load_start: str, stored):
    """`_sort=_lastUpdated&_lastUpdated=gt<instant>&_count=100`, next links, then incremental rounds."""
    high_water = {}
    for rtype in ("Patient", "Observation"):
        base = f"/fhir/{rtype}?_sort=_lastUpdated&_lastUpdated=gt{load_start}&_count=100"
        res = t.get(base)
        if not isinstance(res, Result):
            t.check(f"SDK download {rtype}", False, str(res))
            continue
        want = set(by_type[rtype])
        got = set(res.matches)
        stamps = [res.resources[k]["meta"]["lastUpdated"] for k in res.matches]
        in_order = all(date_range(a)[0] <= date_range(b)[0] for a, b in zip(stamps, stamps[1:]))
        t.table.append((f"SDK download {rtype}", len(want), res.total, len(got), len(res.pages)))
        t.check(f"SDK download {rtype}: every loaded {rtype} once, in _lastUpdated order over {len(res.pages)} pages",
                got == want and len(res.matches) == len(got) and in_order,
                f"{len(got)} ids ({len(res.matches)} rows) vs {len(want)}; in order {in_order}; "
                f"missing {sorted(want - got)[:3]}, unexpected {sorted(got - want)[:3]}")
        count = t.get(f"/fhir/{rtype}?_lastUpdated=gt{load_start}&_summary=count")
        t.check(f"SDK {rtype}?_lastUpdated=gt…&_summary=count = {len(want)}",
                isinstance(count, Result) and count.total == len(want), str(getattr(count, "total", count)))
        high_water[rtype] = max(stamps, key=lambda s: date_range(s)[0]) if stamps else load_start
        again = t.get(f"/fhir/{rtype}?_sort=_lastUpdated&_lastUpdated=gt{urllib.parse.quote(high_water[rtype])}&_count=100")
        t.check(f"SDK incremental {rtype}: nothing after the newest lastUpdated seen ({high_water[rtype]})",
                isinstance(again, Result) and not again.matches and again.total in (0, None),
                str(again) if not isinstance(again, Result) else f"{len(again.matches)} rows: {again.matches[:3]}")

    # Update one Patient: the next incremental round returns exactly that one (and no Observation).
    if "Patient" not in high_water:
        return
    pid = sorted(by_type["Patient"])[3]
    status, _, body = t.gw.request("GET", f"/fhir/{pid}", None, ACCEPT)
    patient = json.loads(body)
    patient["active"] = not patient.get("active", False)
    time.sleep(0.01)  # the update's lastUpdated is then strictly after the high-water mark
    updated, _ = t.gw.json("PUT", f"/fhir/{pid}", patient)
    for rtype, want in (("Patient", {pid}), ("Observation", set())):
        res = t.get(f"/fhir/{rtype}?_sort=_lastUpdated&_lastUpdated=gt{urllib.parse.quote(high_water[rtype])}&_count=100")
        t.check(f"SDK incremental {rtype} after updating {pid}: exactly {sorted(want) or 'nothing'}",
                isinstance(res, Result) and set(res.matches) == want and len(res.matches) == len(want)
                and res.total in (len(want), None),
                str(res) if not isinstance(res, Result) else f"{res.matches[:5]} (total {res.total})")
        if isinstance(res, Result) and res.matches:
            got = res.resources[pid]["meta"]
            t.check("SDK incremental: the updated Patient comes back as version 2",
                    got.get("versionId") == updated["meta"]["versionId"] == "2", json.dumps(got))


def main() -> int:
    binary = binary_from_argv(sys.argv)
    synthea = Path(sys.argv[2]) if len(sys.argv) > 2 else default_shared_data() / "synthea"
    if not synthea.is_dir() or not any(synthea.glob("*.json.bz2")):
        print(f"SKIP: Synthea corpus not found at {synthea} (../shared/data is absent)")
        return SKIP
    files = load_bundles(synthea)
    checks = Checks()
    print(f"Synthea corpus: {len(files)} bundles from {synthea}")
    gw = GatewayProcess(binary, name="synthea-search")
    try:
        gw.start()
        # An instant before the load, in the server's own terms (its clock is this machine's).
        load_start = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)
                      ).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        t0 = time.monotonic()
        submitted, urn_map, ident_map, failures = load_synthea(gw, files)
        checks.check("every bundle entry answered 2xx with a Location", not failures,
                     f"{len(failures)} failures, first: " + "; ".join(failures[:5]))
        print(f"loaded {len(submitted)} resources in {time.monotonic() - t0:.1f}s")
        unresolved = set()
        stored = {}
        for rtype, rid, resource, _ in submitted:
            stored[f"{rtype}/{rid}"] = rewrite_references(dict(resource, id=rid), urn_map, ident_map, unresolved)
        checks.check("every conditional reference resolved", not unresolved, str(sorted(unresolved)[:5]))

        t = SearchTest(gw, checks)
        t1 = time.monotonic()
        try:
            run_searches(t, stored, load_start)
        finally:
            t.conn.close()
            t.print_table()
        print(f"{len(t.table)} searches compared in {time.monotonic() - t1:.1f}s")
        code = gw.stop()
        checks.check("SIGTERM exits 0", code == 0, f"exit code {code}")
    except Exception:
        print("---- daemon log (tail) ----\n" + gw.log_tail(), file=sys.stderr)
        raise
    finally:
        gw.cleanup()
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
