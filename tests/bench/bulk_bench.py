#!/usr/bin/python3
"""Bulk NDJSON benchmark (issue 7): `clinic-gateway import` and `export --ndjson` speed.

  data   : generated before the clock starts (seeded): Patients (name, gender, birthDate, an
           identifier) and Observations (a LOINC code, subject, effectiveDateTime,
           valueQuantity), 1 Patient per 8 Observations, as Patient.ndjson and
           Observation.ndjson. Default 100,008 resources; --smoke 2,007.
  import : `clinic-gateway import DIR --config F` into a fresh data dir (no daemon), wall
           time of the whole command (store open and close, the audit records included).
  replay : the same import with --restart: every line read, checked and found unchanged.
  export : `clinic-gateway export --ndjson DIR2 --config F`, wall time; the line counts are
           checked against what was generated.
  synthea: with --synthea DIR holding Synthea NDJSON (e.g. an export of the Synthea corpus),
           imported and exported too.

Prints resources/s per phase; --json FILE writes them. Exit status non-zero only on errors
(a non-zero exit of the command, wrong counts), never on speed.

Usage: tests/bench/bulk_bench.py --gateway BIN [--resources N] [--smoke] [--json FILE]
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOINC = [("8867-4", "Heart rate", "/min", 50, 120), ("8480-6", "Systolic BP", "mm[Hg]", 90, 180),
         ("29463-7", "Body weight", "kg", 3, 120), ("8310-5", "Body temperature", "Cel", 35, 40)]


def generate(directory: Path, total: int, rng: random.Random):
    patients = max(1, total // 9)
    observations = total - patients
    with open(directory / "Patient.ndjson", "w") as out:
        for i in range(patients):
            out.write(json.dumps({
                "resourceType": "Patient", "id": f"bench-p{i}",
                "identifier": [{"system": "urn:bench:mrn", "value": f"MRN{i:07d}"}],
                "name": [{"family": f"Family{i % 997}", "given": [f"Given{i % 113}"]}],
                "gender": rng.choice(["female", "male"]),
                "birthDate": f"{rng.randint(1940, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            }, separators=(",", ":")) + "\n")
    with open(directory / "Observation.ndjson", "w") as out:
        for i in range(observations):
            code, text, unit, lo, hi = rng.choice(LOINC)
            out.write(json.dumps({
                "resourceType": "Observation", "id": f"bench-o{i}", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": text}]},
                "subject": {"reference": f"Patient/bench-p{rng.randrange(patients)}"},
                "effectiveDateTime": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
                "valueQuantity": {"value": round(rng.uniform(lo, hi), 1), "unit": unit,
                                  "system": "http://unitsofmeasure.org", "code": unit},
            }, separators=(",", ":")) + "\n")
    return {"Patient": patients, "Observation": observations}


def write_config(root: Path) -> Path:
    data = root / "data"
    data.mkdir()
    config = root / "gateway.toml"
    config.write_text(f'[node]\nname = "bench"\ndata_dir = "{data}"\n\n'
                      '[http]\naddress = "127.0.0.1"\nport = 0\n\n'
                      '[auth]\ntoken_sha256 = ["' + "0" * 64 + '"]\n')
    return config


def timed(args):
    t = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True)
    took = time.monotonic() - t
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return took, proc.stdout


def line_counts(directory: Path):
    counts = {}
    for f in directory.glob("*.ndjson"):
        with open(f, "rb") as lines:
            counts[f.name[:-len(".ndjson")]] = sum(1 for _ in lines)
    return counts


def run_set(binary, name, source: Path, expected, root: Path, results):
    config = write_config(root / name)
    total = sum(expected.values())
    took, out = timed([binary, "import", str(source), "--config", str(config)])
    results[f"{name}_import_per_s"] = round(total / took)
    print(f"{name}: import {total} resources in {took:.2f} s = {total / took:,.0f}/s")
    print("   ", out.strip().splitlines()[-1])
    took, _ = timed([binary, "import", str(source), "--config", str(config), "--restart"])
    results[f"{name}_replay_per_s"] = round(total / took)
    print(f"{name}: replay (all unchanged) in {took:.2f} s = {total / took:,.0f}/s")
    target = root / name / "export"
    took, _ = timed([binary, "export", "--ndjson", str(target), "--config", str(config)])
    results[f"{name}_export_per_s"] = round(total / took)
    print(f"{name}: export in {took:.2f} s = {total / took:,.0f}/s")
    got = line_counts(target)
    if got != expected:
        sys.exit(f"{name}: exported {got}, expected {expected}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", default=os.environ.get("CG_GATEWAY"), required=False)
    ap.add_argument("--resources", type=int, default=100_008)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--synthea", type=Path, help="a directory of Synthea NDJSON to run too")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not args.gateway:
        ap.error("--gateway BIN (or CG_GATEWAY) is required")
    total = 2_007 if args.smoke else args.resources
    root = Path(tempfile.mkdtemp(prefix="cg-bulk-bench-"))
    results = {"resources": total}
    try:
        source = root / "generated"
        source.mkdir()
        expected = generate(source, total, random.Random(7))
        run_set(args.gateway, "generated", source, expected, root, results)
        if args.synthea:
            run_set(args.gateway, "synthea", args.synthea, line_counts(args.synthea), root, results)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
