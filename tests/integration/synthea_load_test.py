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
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (LOCATION, SKIP, Checks, GatewayProcess,  # noqa: E402
                             binary_from_argv, default_shared_data, first_difference,
                             load_bundles, load_synthea, rewrite_references, strip_meta_versions)

THREADS = int(os.environ.get("CG_SYNTHEA_THREADS", "4"))
RSS_LIMIT_MB = int(os.environ.get("CG_RSS_LIMIT_MB", "256"))


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
        submitted, urn_map, ident_map, entry_failures = load_synthea(gw, files)
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
