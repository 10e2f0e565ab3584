#!/usr/bin/python3
"""Bulk NDJSON export and import between two real daemons.

    /usr/bin/python3 bulk_ndjson_test.py <clinic-gateway> [synthea dir]

1. Gateway A gets a few hand-made resources (a Patient, an Observation referring to it, one
   deleted Patient) and, when ../shared/data is present, the Synthea corpus (else that part
   is skipped, the rest still runs).
2. `clinic-gateway export --ndjson DIR --config A` while A serves: every line of every
   <Type>.ndjson must be a JSON object (read with this Python's json) whose resourceType is
   the file's type; the files are mode 0600; export.json's counts equal the line counts and
   A's own counts (_summary=count); the deleted Patient is not exported.
3. `clinic-gateway import DIR --config B` while a fresh gateway B serves: B's counts per type
   equal A's, a few searches (identifier, subject reference, Synthea's conditions by
   patient) give the same totals on both, read resources are equal apart from meta, and B
   holds a DCM 110107 Import audit record.
4. The import again: nothing new (the progress file says it is done); with --restart every
   line is read again and found unchanged: no new versions (still version 1).
5. A bad line makes `import` exit 1 naming file:line, and stores nothing of it.

Exit 0 = pass, 1 = fail. Stdlib only.
"""

import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             default_shared_data, load_bundles, load_synthea, strip_meta_versions)

CLI_TIMEOUT_S = 900


def cli(binary, *args):
    """Runs a clinic-gateway command; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    return proc.returncode, proc.stdout, proc.stderr


def count(gw, query):
    body, _ = gw.json("GET", f"/fhir/{query}{'&' if '?' in query else '?'}_summary=count")
    return body.get("total")


def seed(gw):
    """A Patient, an Observation about it, and a deleted Patient; returns the first two ids."""
    patient, _ = gw.json("POST", "/fhir/Patient", {
        "resourceType": "Patient", "identifier": [{"system": "urn:bulk-test", "value": "P-1"}],
        "name": [{"family": "Bulk", "given": ["Nora"]}]}, expect=201)
    obs, _ = gw.json("POST", "/fhir/Observation", {
        "resourceType": "Observation", "status": "final", "code": {"text": "haemoglobin"},
        "subject": {"reference": f"Patient/{patient['id']}"},
        "valueQuantity": {"value": 12.50, "unit": "g/dL"}}, expect=201)
    gone, _ = gw.json("POST", "/fhir/Patient", {"resourceType": "Patient"}, expect=201)
    gw.json("DELETE", f"/fhir/Patient/{gone['id']}", expect=(200, 204))
    return patient["id"], obs["id"], gone["id"]


def check_ndjson(checks, directory):
    """Every line parses and has its file's resourceType; returns {type: line count}."""
    counts, bad = {}, []
    for f in sorted(directory.glob("*.ndjson")):
        rtype = f.name[: -len(".ndjson")]
        n = 0
        with open(f, encoding="utf-8") as lines:
            for i, line in enumerate(lines, 1):
                if not line.endswith("\n"):
                    bad.append(f"{f.name}:{i}: not newline-terminated")
                try:
                    resource = json.loads(line)
                except ValueError as e:
                    bad.append(f"{f.name}:{i}: {e}")
                    continue
                if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
                    bad.append(f"{f.name}:{i}: resourceType is not {rtype}")
                n += 1
        counts[rtype] = n
        mode = stat.S_IMODE(os.stat(f).st_mode)
        if mode != 0o600:
            bad.append(f"{f.name}: mode {oct(mode)}")
    checks.check("every NDJSON line is a JSON resource of its file's type; files are 0600",
                 not bad, "; ".join(bad[:5]))
    return counts


def main() -> int:
    binary = binary_from_argv(sys.argv)
    synthea = Path(sys.argv[2]) if len(sys.argv) > 2 else default_shared_data() / "synthea"
    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="cg-bulk-"))
    export_dir = work / "export"
    a = GatewayProcess(binary, name="bulk-a")
    b = GatewayProcess(binary, name="bulk-b")
    try:
        a.start()
        patient_id, obs_id, gone_id = seed(a)
        with_synthea = synthea.is_dir() and any(synthea.glob("*.json.bz2"))
        if with_synthea:
            t = time.monotonic()
            submitted, _, _, failures = load_synthea(a, load_bundles(synthea))
            checks.check("the Synthea corpus loads", not failures, "; ".join(failures[:3]))
            print(f"Synthea: {len(submitted)} resources loaded in {time.monotonic() - t:.1f}s")
        else:
            print(f"SKIP (part): Synthea corpus not found at {synthea}; hand-made resources only")

        code, out, err = cli(binary, "export", "--ndjson", str(export_dir),
                             "--config", str(a.config_path))
        print(out.strip())
        checks.check("export exits 0 while the daemon serves", code == 0, err)
        manifest = json.loads((export_dir / "export.json").read_text())
        lines = check_ndjson(checks, export_dir)
        listed = {o["type"]: o["count"] for o in manifest["output"]}
        checks.check("export.json is complete and its counts are the line counts",
                     manifest.get("complete") is True and listed == lines, f"{listed} vs {lines}")
        a_counts = {t: count(a, t) for t in lines}
        checks.check("the export holds every current resource of A", a_counts == lines,
                     f"A {a_counts} vs export {lines}")
        exported_patients = (export_dir / "Patient.ndjson").read_text()
        checks.check("a deleted resource is not exported", gone_id not in exported_patients)

        b.start()
        code, out, err = cli(binary, "import", str(export_dir), "--config", str(b.config_path))
        print(out.strip())
        checks.check("import exits 0 while the daemon serves", code == 0, err)
        b_counts = {t: count(b, t) for t in lines}
        checks.check("B holds as many resources of each type as A", b_counts == a_counts,
                     f"B {b_counts} vs A {a_counts}")
        searches = [f"Patient?identifier=urn:bulk-test|P-1",
                    f"Observation?subject=Patient/{patient_id}",
                    "Observation?code:text=haemoglobin"]
        if with_synthea:
            searches += ["Patient?gender=female", "Condition?clinical-status=active",
                         "Observation?category=vital-signs", "Encounter?_has:Condition:encounter:clinical-status=active"]
        differ = []
        for q in searches:
            try:
                ca, cb = count(a, q), count(b, q)
            except Exception as e:  # a search one build does not support is not this test's concern
                print(f"  (search {q} skipped: {e})")
                continue
            if ca != cb:
                differ.append(f"{q}: A {ca}, B {cb}")
        checks.check("searches give the same totals on A and B", not differ, "; ".join(differ))
        for ref in (f"Patient/{patient_id}", f"Observation/{obs_id}"):
            ra, _ = a.json("GET", f"/fhir/{ref}")
            rb, _ = b.json("GET", f"/fhir/{ref}")
            checks.check(f"{ref} reads the same on B (ids and references kept)",
                         strip_meta_versions(ra) == strip_meta_versions(rb))
        audit, _ = b.json("GET", "/fhir/AuditEvent?type=110107&_summary=count")
        checks.check("B recorded the import (DCM 110107 Import)", (audit.get("total") or 0) >= 1,
                     json.dumps(audit)[:300])

        code, out, _ = cli(binary, "import", str(export_dir), "--config", str(b.config_path))
        checks.check("a second import resumes after the end: nothing read",
                     code == 0 and "0 created, 0 updated, 0 unchanged" in out, out)
        code, out, _ = cli(binary, "import", str(export_dir), "--config", str(b.config_path),
                           "--restart")
        total = sum(lines.values())
        checks.check("--restart reads every line again and finds each unchanged",
                     code == 0 and f"0 created, 0 updated, {total} unchanged" in out, out)
        versions = [b.json("GET", f"/fhir/{ref}")[0]["meta"]["versionId"]
                    for ref in (f"Patient/{patient_id}", f"Observation/{obs_id}")]
        checks.check("no new versions from the replay", versions == ["1", "1"], str(versions))

        bad_dir = work / "bad"
        bad_dir.mkdir()
        (bad_dir / "Patient.ndjson").write_text(
            '{"resourceType":"Patient","id":"bulk-ok"}\n{"resourceType":"Patient","id":"bulk-bad",\n')
        code, out, err = cli(binary, "import", str(bad_dir), "--config", str(b.config_path))
        checks.check("a bad line: exit 1 and file:line on stderr",
                     code == 1 and "Patient.ndjson:2:" in err, f"{code} {err}")
        status, _, _ = b.request("GET", "/fhir/Patient/bulk-bad")
        checks.check("nothing of the bad line is stored, the good one is",
                     status == 404 and b.request("GET", "/fhir/Patient/bulk-ok")[0] == 200)

        checks.check("A stops cleanly", a.stop() == 0)
        checks.check("B stops cleanly", b.stop() == 0)
    finally:
        a.cleanup()
        b.cleanup()
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
