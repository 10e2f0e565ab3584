#!/usr/bin/python3
"""Load every Synthea bundle in ../shared/data/synthea into a real daemon and prove it kept them.

    /usr/bin/python3 synthea_load_test.py <clinic-gateway> [synthea dir]

1. POSTs the two `0-*` batch Bundles (hospitals, practitioners; entries use ifNoneExist), then
   the 20 patient transaction Bundles (urn:uuid and conditional references such as
   `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999499`). Every response entry
   must be 2xx with a Location.
2. GETs every Location and compares the stored resource with the submitted one, after applying
   what the server must change: the server-assigned id, urn:uuid and conditional references
   rewritten to `Type/id`, and meta.versionId/lastUpdated.
3. JSON -> XML -> JSON: GET the resource as JSON, GET it with _format=xml, PUT that XML back to
   the same id (Content-Type application/fhir+xml), GET it as JSON again: unchanged apart from
   meta.versionId/lastUpdated.
4. Re-POSTs the hospital batch: every ifNoneExist entry must find (200) the resource created
   the first time, and the Organization/Location counts stay the same.
5. Prints the daemon's VmRSS / VmHWM after the load and at the end.

Exit 0 = pass, 1 = fail, 77 = skipped (no ../shared/data). Stdlib only.
Environment: CG_SYNTHEA_THREADS (verification threads, default 4), CG_RSS_LIMIT_MB (fail if
VmHWM exceeds it; default 256, not applied to sanitizer builds).
"""

import bz2
import concurrent.futures
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (SKIP, Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             default_shared_data, first_difference, strip_meta_versions)

THREADS = int(os.environ.get("CG_SYNTHEA_THREADS", "4"))
RSS_LIMIT_MB = int(os.environ.get("CG_RSS_LIMIT_MB", "256"))
LOCATION = re.compile(r"^(?:.*/fhir/)?([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([^/]+))?$")
CONDITIONAL_REF = re.compile(r"^([A-Za-z]+)\?identifier=(.*)$")


def load_bundles(directory: Path):
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


def main() -> int:
    binary = binary_from_argv(sys.argv)
    synthea = Path(sys.argv[2]) if len(sys.argv) > 2 else default_shared_data() / "synthea"
    if not synthea.is_dir() or not any(synthea.glob("*.json.bz2")):
        print(f"SKIP: Synthea corpus not found at {synthea} (../shared/data is absent)")
        return SKIP
    files = load_bundles(synthea)
    checks = Checks()
    print(f"Synthea corpus: {len(files)} bundles from {synthea}")

    gw = GatewayProcess(binary, name="synthea")
    try:
        gw.start()
        t0 = time.monotonic()
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
        load_s = time.monotonic() - t0
        checks.check("every bundle entry answered 2xx with a Location", not entry_failures,
                     f"{len(entry_failures)} failures, first: " + "; ".join(entry_failures[:5]))
        print(f"loaded {len(submitted)} resources in {load_s:.1f}s")
        mem = gw.memory_kb()
        print(f"RSS after the Synthea load: VmRSS {mem['VmRSS'] / 1024:.1f} MB, "
              f"VmHWM {mem['VmHWM'] / 1024:.1f} MB")

        # Re-posting the hospital batch (every entry has ifNoneExist) must find, not duplicate.
        hospital = next(f for f in files if f.name.startswith("0-hospital"))
        bundle = json.loads(bz2.decompress(hospital.read_bytes()))
        first_ids = {}
        for rtype, rid, _, origin in submitted:
            if origin == hospital.name:
                first_ids.setdefault(rtype, set()).add(rid)
        resp, _ = gw.json("POST", "/fhir", bundle)
        again = []
        for e in resp.get("entry", []):
            # A matched conditional create need not send a Location; then the entry's resource says which.
            loc = e.get("response", {}).get("location") or (
                f"{e['resource']['resourceType']}/{e['resource'].get('id')}" if "resource" in e else "")
            again.append((e.get("response", {}).get("status", ""), loc, LOCATION.match(loc)))
        bad = [f"entry {i}: {st} {loc!r}" for i, (st, loc, m) in enumerate(again)
               if not st.startswith("200") or not m or m.group(2) not in first_ids.get(m.group(1), ())]
        checks.check("re-posting the hospital batch: every ifNoneExist entry answers 200 with the first id",
                     len(again) == len(bundle["entry"]) and not bad, f"{len(bad)} entries, e.g. {bad[:3]}")
        for rtype in ("Organization", "Location"):
            n, _ = gw.json("GET", f"/fhir/{rtype}?_summary=count")
            checks.check(f"{rtype}?_summary=count unchanged by the re-post", n.get("total") == len(first_ids.get(rtype, ())),
                         f"{n.get('total')} != {len(first_ids.get(rtype, ()))}")

        # Patient count via _summary=count: one Patient per patient bundle.
        n_patient_bundles = sum(1 for f in files if not f.name.startswith("0-"))
        count, _ = gw.json("GET", "/fhir/Patient?_summary=count")
        checks.check("Patient?_summary=count equals the number of patient bundles",
                     count.get("total") == n_patient_bundles, f"total {count.get('total')} != {n_patient_bundles}")

        # Retrieval + content + XML round trip, in parallel.
        unresolved = set()
        problems = {"retrieve": [], "content": [], "xml": []}
        lock = threading.Lock()
        local = threading.local()

        def verify(item):
            rtype, rid, resource, origin = item
            if not hasattr(local, "conn"):
                local.conn = gw.connection()
            conn = local.conn
            found = []

            def note(kind, msg):
                found.append((kind, f"{rtype}/{rid} (from {origin}): {msg}"))

            st, _, body = conn.request("GET", f"/fhir/{rtype}/{rid}/_history/1", None,
                                       {"Accept": "application/fhir+json"})
            if st != 200:
                note("retrieve", f"vread HTTP {st}: {body[:300]!r}")
                return found
            st, _, body = conn.request("GET", f"/fhir/{rtype}/{rid}", None, {"Accept": "application/fhir+json"})
            if st != 200:
                note("retrieve", f"read HTTP {st}: {body[:300]!r}")
                return found
            as_json = json.loads(body)
            expected = rewrite_references(dict(resource, id=rid), urn_map, ident_map, unresolved)
            diff = first_difference(strip_meta_versions(expected), strip_meta_versions(as_json))
            if diff:
                note("content", diff)
            st, h, xml = conn.request("GET", f"/fhir/{rtype}/{rid}?_format=xml")
            if st != 200 or not h.get("content-type", "").startswith("application/fhir+xml"):
                note("xml", f"GET _format=xml HTTP {st} {h.get('content-type')}: {xml[:300]!r}")
                return found
            st, _, body = conn.request("PUT", f"/fhir/{rtype}/{rid}", xml,
                                       {"Content-Type": "application/fhir+xml", "Accept": "application/fhir+json",
                                        "Prefer": "return=minimal"})
            if st != 200:
                note("xml", f"PUT of its own XML HTTP {st}: {body[:500]!r}")
                return found
            st, _, body = conn.request("GET", f"/fhir/{rtype}/{rid}", None, {"Accept": "application/fhir+json"})
            if st != 200:
                note("xml", f"read after XML PUT HTTP {st}")
                return found
            back = json.loads(body)
            diff = first_difference(strip_meta_versions(as_json), strip_meta_versions(back))
            if diff:
                note("xml", "JSON->XML->JSON changed " + diff)
            return found

        t1 = time.monotonic()
        done = 0
        with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
            for found in pool.map(verify, submitted, chunksize=64):
                done += 1
                for kind, msg in found:
                    with lock:
                        problems[kind].append(msg)
                if done % 2000 == 0:
                    print(f"  verified {done}/{len(submitted)} ({time.monotonic() - t1:.0f}s)")
                    sys.stdout.flush()
        print(f"verified {done} resources in {time.monotonic() - t1:.1f}s ({THREADS} threads)")

        def first(kind):
            return f"{len(problems[kind])} resources, e.g.\n      " + "\n      ".join(problems[kind][:8])

        checks.check("every submitted resource is retrievable (vread of its Location and read)",
                     not problems["retrieve"], first("retrieve"))
        checks.check("every conditional reference in the corpus resolved to a loaded resource",
                     not unresolved, f"unresolved: {sorted(unresolved)[:5]}")
        checks.check("stored content equals the submitted content (ids and references rewritten)",
                     not problems["content"], first("content"))
        checks.check("JSON -> XML -> JSON unchanged for every resource", not problems["xml"], first("xml"))
        by_type = {}
        for rtype, *_ in submitted:
            by_type[rtype] = by_type.get(rtype, 0) + 1
        print("resources by type: " + ", ".join(f"{k} {v}" for k, v in sorted(by_type.items())))

        mem = gw.memory_kb()
        print(f"RSS at the end: VmRSS {mem['VmRSS'] / 1024:.1f} MB, VmHWM {mem['VmHWM'] / 1024:.1f} MB")
        sanitized = "asan" in Path(f"/proc/{gw.proc.pid}/maps").read_text()
        if sanitized:
            print("(sanitizer build: the RSS limit is not applied)")
        else:
            checks.check(f"peak RSS (VmHWM) within {RSS_LIMIT_MB} MB", mem["VmHWM"] <= RSS_LIMIT_MB * 1024,
                         f"VmHWM {mem['VmHWM'] / 1024:.1f} MB")
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
