#!/usr/bin/python3
"""Promise 1 over MLLP: an HL7v2 message that got AA is stored, whatever instant the daemon
dies at, and sending it again is recognised as a duplicate.

    /usr/bin/python3 mllp_crash_test.py <clinic-gateway>

Each iteration starts the daemon on the same data dir, runs 8 python3-hl7 senders that send
a mix of ADT^A28 and VXU^V04 messages (each connection alternates; a new patient each, MRN =
control id; each VXU one Immunization with ORC-3 = "IZ-" + control id) and record every
answer, and `kill -9`s the daemon at a random point mid-load. Then:

- a copy of the crashed clinical.db (resources and the message archive) passes
  `PRAGMA integrity_check`;
- after a restart, every patient whose message was answered AA is found by FHIR search on its
  MRN (exactly one Patient), and every AA'd VXU's Immunization by its ORC-3 (exactly one,
  referring to that Patient);
- every AA'd message sent again (ADT and VXU alike) gets exactly the answer bytes it got
  before the crash (the archive recognised it), and still exactly one Patient, and for a VXU
  one Immunization, exists for it.

Environment: CG_CRASH_SEED (printed; set it to replay), CG_CRASH_ITERATIONS (default 4),
CG_CRASH_CLIENTS (default 8). Skips (77) without python3-hl7.
"""

import os
import random
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

try:
    import hl7
    import hl7.client
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
    sys.exit(77)

ITERATIONS = int(os.environ.get("CG_CRASH_ITERATIONS", "4"))
CLIENTS = int(os.environ.get("CG_CRASH_CLIENTS", "8"))
MAX_LOAD_S = 1.5
SYSTEM = "http://crash.example/mrn"
IZ_SYSTEM = "http://crash.example/immunization"


def integrity_of_copy(data_dir: Path, name: str) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="cg-mllpcrash-"))
    try:
        for suffix in ("", "-wal"):
            src = data_dir / f"{name}{suffix}"
            if src.exists():
                shutil.copy2(src, tmp / src.name)
        if not (tmp / name).exists():
            return f"{name} missing"
        con = sqlite3.connect(str(tmp / name), timeout=10)
        try:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check").fetchall())
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def a28(control_id: str) -> str:
    return "\r".join([
        f"MSH|^~\\&|EMR|CRASH|GW|GW|20261121080000+0300||ADT^A28^ADT_A05|{control_id}|P|2.5.1",
        f"EVN|A28|20261121080000+0300",
        f"PID|1||{control_id}^^^CRASH^MR||Crash^{control_id}||19800101|F",
    ]) + "\r"


def v04(control_id: str) -> str:
    return "\r".join([
        f"MSH|^~\\&|EMR|CRASH|GW|GW|20261121090000+0300||VXU^V04^VXU_V04|{control_id}|P|2.5.1",
        f"PID|1||{control_id}^^^CRASH^MR||Crash^{control_id}||20240101|M",
        f"ORC|RE||IZ-{control_id}^CRASHIZ",
        "RXA|0|1|20261121085500||08^HepB, adolescent or pediatric^CVX|0.5|mL^^UCUM||"
        "00^new immunization record^NIP001||||||LOT-1||MSD^Merck^MVX|||CP|A",
        "RXR|C28161^Intramuscular^NCIT|RT^right thigh^HL70163",
    ]) + "\r"


MESSAGES = {"ADT": a28, "VXU": v04}


def send(port: int, text: str) -> bytes:
    client = hl7.client.MLLPClient("127.0.0.1", port)
    try:
        client.socket.settimeout(30)
        return client.send_message(text)
    finally:
        client.close()


def patients_with(gw: GatewayProcess, mrn: str) -> int:
    found, _ = gw.json("GET", f"/fhir/Patient?identifier={SYSTEM}|{mrn}&_summary=count")
    return found.get("total", -1)


def not_stored_once(gw: GatewayProcess, kind: str, cid: str) -> str | None:
    """Why what message `cid` means is not stored exactly once; None when it is: one Patient
    with the MRN, and for a VXU one Immunization with its ORC-3 that refers to that Patient."""
    patients = patients_with(gw, cid)
    if patients != 1:
        return f"{cid}: {patients} Patients"
    if kind != "VXU":
        return None
    found, _ = gw.json("GET", f"/fhir/Immunization?identifier={IZ_SYSTEM}|IZ-{cid}"
                              "&_include=Immunization:patient")
    entries = found.get("entry", [])
    shots = [e["resource"] for e in entries if e["resource"]["resourceType"] == "Immunization"]
    owners = [e["resource"] for e in entries if e["resource"]["resourceType"] == "Patient"]
    if len(shots) != 1:
        return f"{cid}: {len(shots)} Immunizations"
    if len(owners) != 1 or shots[0].get("patient", {}).get("reference") != f"Patient/{owners[0]['id']}" \
            or not any(i.get("system") == SYSTEM and i.get("value") == cid
                       for i in owners[0].get("identifier", [])):
        return f"{cid}: the Immunization does not refer to the Patient with the MRN"
    return None


def run_iteration(gw, iteration, rng, checks, acked_all):
    gw.start()
    port = gw.mllp_port
    acked = {}  # control id -> (kind, answer bytes)
    lock = threading.Condition()
    stop = threading.Event()
    kill_after = rng.randint(1, 400)
    kill_after_s = rng.uniform(0.1, MAX_LOAD_S)

    def sender(c: int):
        n = 0
        while not stop.is_set():
            kind = "VXU" if (c + n) % 2 else "ADT"  # every connection sends both, interleaved
            cid = f"I{iteration}C{c}N{n}"
            n += 1
            try:
                answer = send(port, MESSAGES[kind](cid))
            except (OSError, socket.timeout, ConnectionError):
                return  # killed under us
            if b"MSA|AA|" in answer:
                with lock:
                    acked[cid] = (kind, answer)
                    lock.notify_all()

    threads = [threading.Thread(target=sender, args=(c,), daemon=True) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    with lock:
        lock.wait_for(lambda: len(acked) >= kill_after, timeout=kill_after_s)
    gw.kill()
    stop.set()
    for t in threads:
        t.join(30)
    vxus = sum(1 for kind, _ in acked.values() if kind == "VXU")
    print(f"[{iteration}] killed with {len(acked)} messages answered AA "
          f"({len(acked) - vxus} ADT, {vxus} VXU)")
    for name in ("clinical.db",):
        res = integrity_of_copy(gw.data_dir, name)
        checks.check(f"[{iteration}] integrity_check of the crashed {name}", res == "ok", res)

    gw.start()
    acked_all.update(acked)
    missing = [why for cid, (kind, _) in acked.items() if (why := not_stored_once(gw, kind, cid))]
    checks.check(f"[{iteration}] every AA'd patient and immunization is stored once "
                 f"({len(acked)} messages, {vxus} VXU)", not missing, ", ".join(missing[:5]))
    # Every AA'd message, of either kind, sent again: the archive answers it with its first
    # answer and nothing is stored twice.
    resent = sorted(acked)
    replayed = [cid for cid in resent
                if send(gw.mllp_port, MESSAGES[acked[cid][0]](cid)) != acked[cid][1]]
    checks.check(f"[{iteration}] resent AA'd ADT and VXU messages get their first answer "
                 f"({len(resent)})", not replayed, ", ".join(replayed[:5]))
    duplicated = [why for cid in resent if (why := not_stored_once(gw, acked[cid][0], cid))]
    checks.check(f"[{iteration}] and store nothing twice", not duplicated, ", ".join(duplicated[:5]))
    checks.check(f"[{iteration}] SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())


def main() -> int:
    binary = binary_from_argv(sys.argv)
    seed = int(os.environ.get("CG_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"seed {seed} (CG_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    checks = Checks()
    overrides = {"mllp": {"enabled": True, "port": 0},
                 "hl7.identifier_systems": {"CRASH": SYSTEM, "CRASHIZ": IZ_SYSTEM}}
    gw = GatewayProcess(binary, overrides, name="mllpcrash")
    try:
        acked_all = {}
        for iteration in range(ITERATIONS):
            run_iteration(gw, iteration, rng, checks, acked_all)
        gw.start()
        lost = [why for cid, (kind, _) in acked_all.items() if (why := not_stored_once(gw, kind, cid))]
        checks.check(f"all {len(acked_all)} AA'd messages of every iteration are stored once", not lost,
                     ", ".join(lost[:5]))
        checks.check("final SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
    finally:
        gw.cleanup()
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
