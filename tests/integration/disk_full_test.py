#!/usr/bin/python3
"""A real daemon whose data directory fills up, then gets its space back (docs/operations.md,
"When the disk is full or read-only").

    /usr/bin/python3 disk_full_test.py <clinic-gateway>

Needs root: it re-runs itself under `unshare --mount` (a private mount namespace, gone when
the test ends) and mounts a 32 MB tmpfs as the daemon's data directory. Then: FHIR creates
are 201 until the disk is full, the first that does not fit is 503 with Retry-After and an
OperationOutcome naming the full disk, and so is every later one; every resource that was
acknowledged (201) reads back; reads and searches go on (200); an HL7v2 message over MLLP
is answered AR with ERR-3 207 naming the disk, never AA; the refusal is logged at error level
once. Once the filler file is deleted, a FHIR create and the HL7v2 resend succeed within a
bounded wait, without a restart. A second daemon with `[storage] min_free_mb = 12` refuses
creates (503 naming the setting, HL7v2 AR 207) once a filler leaves 6 MB, reads go on, and
writes resume when the filler goes. Then, if the kernel lets the tmpfs be remounted read-only
while the daemon holds its files open for writing (it normally refuses: EBUSY), the same for
a read-only disk; otherwise that case is left to the fault-injecting VFS unit test
(tests/storage/write_gate_test.cpp) and the test says so.

Skips (exit 77) when not root or when unshare/mount are not available.
"""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import SKIP, Checks, GatewayProcess, binary_from_argv  # noqa: E402

INNER = "CG_DISK_FULL_MOUNT"  # set in the re-run: the tmpfs mount point
TMPFS_SIZE = "32m"
RECOVERY_WAIT_S = 40.0  # the gate is rechecked every 5 s; a loaded debug build is slower

MLLP_START, MLLP_END = b"\x0b", b"\x1c\x0d"


def mllp(port: int, text: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(MLLP_START + text.encode() + MLLP_END)
        data = b""
        while not data.endswith(MLLP_END):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.strip(MLLP_START + MLLP_END).decode("utf-8", errors="replace")


def segment(answer: str, name: str) -> list[str]:
    for line in answer.split("\r"):
        if line.startswith(name + "|"):
            return line.split("|")
    return []


def a28(control_id: str, mrn: str) -> str:
    return "\r".join([
        f"MSH|^~\\&|EMR|CLINIC|GW|GW|20261121080000||ADT^A28^ADT_A05|{control_id}|P|2.5.1",
        f"PID|1||{mrn}^^^CLINIC^MR||Otieno^Ben||19800101|M",
    ]) + "\r"


def patient(n: int) -> dict:
    # Big enough that a few dozen fill the WAL's reusable space quickly.
    return {"resourceType": "Patient", "name": [{"family": f"Filler{n}", "given": ["A"]}],
            "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
                     + ("x" * 60_000) + "</div>"}}


def fill(directory: Path) -> Path:
    """Writes a file until the file system has no space left; returns it."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            block = b"\0" * size
            try:
                while True:
                    f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
    return filler


def post(gw: GatewayProcess, n: int):
    return gw.request("POST", "/fhir/Patient", json.dumps(patient(n)),
                      {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})


def refused_checks(checks: Checks, gw: GatewayProcess, status, headers, body, words: str,
                   kept: list[str], mllp_port: int, control_id: str) -> None:
    checks.check(f"{words}: a FHIR create is 503", status == 503, f"{status} {body[:300]!r}")
    checks.check(f"{words}: with Retry-After", headers.get("retry-after", "").isdigit(), str(headers))
    outcome = json.loads(body) if body else {}
    issue = (outcome.get("issue") or [{}])[0]
    checks.check(f"{words}: an OperationOutcome, issue code transient",
                 outcome.get("resourceType") == "OperationOutcome" and issue.get("code") == "transient",
                 body[:300].decode(errors="replace"))
    checks.check(f"{words}: its diagnostics name the condition",
                 words in issue.get("diagnostics", ""), issue.get("diagnostics", ""))
    checks.check(f"{words}: no patient data in the answer", b"Filler" not in body)
    again, _, _ = post(gw, 99_999)
    checks.check(f"{words}: the next create is refused too", again == 503, str(again))
    reads_ok = all(gw.request("GET", f"/fhir/Patient/{i}")[0] == 200 for i in kept)
    checks.check(f"{words}: every acknowledged resource reads back (200)", reads_ok, str(len(kept)))
    status, _, _ = gw.request("GET", "/fhir/Patient?name=Filler1")
    checks.check(f"{words}: searches go on (200)", status == 200, str(status))
    answer = mllp(mllp_port, a28(control_id, "M-" + control_id))
    msa, err = segment(answer, "MSA"), segment(answer, "ERR")
    checks.check(f"{words}: an HL7v2 message is not acknowledged AA",
                 len(msa) > 1 and msa[1] in ("AR", "AE"), answer.replace("\r", "\\r"))
    checks.check(f"{words}: ERR-3 is 207", len(err) > 3 and err[3].split("^")[0] == "207",
                 answer.replace("\r", "\\r"))
    checks.check(f"{words}: ERR-8 names the condition", len(err) > 8 and words in err[8],
                 answer.replace("\r", "\\r"))


def wait_for_writes(gw: GatewayProcess, n: int) -> tuple[int, float]:
    """POSTs until one is 201 or RECOVERY_WAIT_S pass; returns the last status and the wait."""
    start = time.monotonic()
    status = 0
    while time.monotonic() - start < RECOVERY_WAIT_S:
        status, _, _ = post(gw, n)
        if status == 201:
            break
        time.sleep(0.5)  # polling a daemon that recovers on its own schedule
    return status, time.monotonic() - start


def run(binary: str, mount: Path) -> int:
    checks = Checks()
    data = mount / "data"
    overrides = {"node": {"data_dir": str(data)},
                 "storage": {"min_free_mb": 0},  # the real full disk, not the floor
                 "mllp": {"enabled": True, "port": 0},
                 "hl7.identifier_systems": {"CLINIC": "http://clinic.example/mrn"}}
    with GatewayProcess(binary, overrides, name="diskfull") as gw:
        port = gw.mllp_port
        first = mllp(port, a28("OK-1", "M-1"))
        checks.check("before: HL7v2 is AA", segment(first, "MSA")[1:2] == ["AA"], first)
        kept = []
        for n in range(3):
            status, headers, body = post(gw, n)
            if status == 201:
                kept.append(headers["location"].split("/Patient/")[1].split("/")[0])
        checks.check("before: FHIR creates are 201", len(kept) == 3, str(kept))

        filler = fill(mount)
        status, headers, body = 201, {}, b""
        n = 3
        while status == 201 and n < 400:  # the WAL may still hold reusable space
            status, headers, body = post(gw, n)
            if status == 201:
                kept.append(headers["location"].split("/Patient/")[1].split("/")[0])
            n += 1
        refused_checks(checks, gw, status, headers, body, "disk is full", kept, port, "FULL-1")
        checks.check("the refusal is logged once at error level",
                     gw.log_text().count("writes refused until") == 1, gw.log_tail())

        filler.unlink()
        status, waited = wait_for_writes(gw, 1000)
        checks.check(f"space back: a FHIR create is 201 without a restart ({waited:.1f} s)",
                     status == 201, str(status))
        again = mllp(port, a28("FULL-1", "M-FULL-1"))
        checks.check("space back: the HL7v2 resend is AA", segment(again, "MSA")[1:2] == ["AA"],
                     again.replace("\r", "\\r"))
        checks.check("the recovery is logged", "can be written again" in gw.log_text(), gw.log_tail())
        reads_ok = all(gw.request("GET", f"/fhir/Patient/{i}")[0] == 200 for i in kept)
        checks.check("every resource acknowledged while filling is still there", reads_ok)

        remount = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True,
                                 text=True)
        if remount.returncode != 0:
            print("  note  read-only: the kernel refused to remount the tmpfs read-only while the "
                  f"daemon holds files open for writing ({remount.stderr.strip()}); the read-only "
                  "case is covered by tests/storage/write_gate_test.cpp (fault-injecting VFS)")
        else:
            status, headers, body = post(gw, 2000)
            refused_checks(checks, gw, status, headers, body, "read-only", kept, port, "RO-1")
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
            status, waited = wait_for_writes(gw, 2001)
            checks.check(f"writable again: a FHIR create is 201 ({waited:.1f} s)", status == 201,
                         str(status))
        checks.check("the daemon stops cleanly", gw.stop() == 0, gw.log_tail())
    run_floor(binary, mount, checks)
    return checks.summary()


def run_floor(binary: str, mount: Path, checks: Checks) -> None:
    """[storage] min_free_mb: clinical writes stop before the disk is full, and resume."""
    overrides = {"node": {"data_dir": str(mount / "floor")},
                 "storage": {"min_free_mb": 12},
                 "mllp": {"enabled": True, "port": 0},
                 "hl7.identifier_systems": {"CLINIC": "http://clinic.example/mrn"}}
    with GatewayProcess(binary, overrides, name="diskfloor") as gw:
        status, headers, _ = post(gw, 0)
        checks.check("floor: a create with room to spare is 201", status == 201, str(status))
        kept = headers.get("location", "").split("/Patient/")[-1].split("/")[0]
        fs = os.statvfs(mount)
        filler = mount / "floor-filler"
        with open(filler, "wb") as f:  # leave about 6 MB: under the 12 MB floor, far from full
            f.truncate(0)
            remaining = fs.f_bavail * fs.f_frsize - 6 * (1 << 20)
            block = b"\0" * (1 << 20)
            while remaining > 0:
                remaining -= f.write(block[:min(len(block), remaining)])
        start = time.monotonic()
        while status == 201 and time.monotonic() - start < RECOVERY_WAIT_S:
            status, headers, body = post(gw, 1)
            if status == 201:
                time.sleep(0.5)  # the floor is checked every 5 s
        checks.check("floor: below min_free_mb a create is 503", status == 503, str(status))
        checks.check("floor: its diagnostics name the setting", b"min_free_mb" in body,
                     body[:300].decode(errors="replace"))
        checks.check("floor: reads go on (200)", gw.request("GET", f"/fhir/Patient/{kept}")[0] == 200)
        answer = mllp(gw.mllp_port, a28("FLOOR-1", "M-FLOOR-1"))
        checks.check("floor: HL7v2 is AR 207", segment(answer, "MSA")[1:2] == ["AR"]
                     and segment(answer, "ERR")[3:4] and segment(answer, "ERR")[3].startswith("207"),
                     answer.replace("\r", "\\r"))
        checks.check("floor: logged at error level", "below [storage] min_free_mb" in gw.log_text(),
                     gw.log_tail())
        filler.unlink()
        status, waited = wait_for_writes(gw, 2)
        checks.check(f"floor: space freed, a create is 201 ({waited:.1f} s)", status == 201,
                     str(status))
        checks.check("floor: the daemon stops cleanly", gw.stop() == 0, gw.log_tail())


def main() -> int:
    binary = os.path.abspath(binary_from_argv(sys.argv))
    inner = os.environ.get(INNER)
    if inner:
        mount = Path(inner)
        subprocess.run(["mount", "--make-rprivate", "/"], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs",
                        str(mount)], check=True)
        return run(binary, mount)
    if os.geteuid() != 0:
        print("SKIP: needs root (a private mount namespace with a small tmpfs as the data dir)")
        return SKIP
    unshare = shutil.which("unshare")
    if not unshare or not shutil.which("mount"):
        print("SKIP: unshare(1) or mount(8) is not available (util-linux)")
        return SKIP
    probe = subprocess.run([unshare, "--mount", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIP: cannot create a mount namespace here: {probe.stderr.strip()}")
        return SKIP
    mount = Path(tempfile.mkdtemp(prefix="cg-diskfull-"))
    try:
        env = dict(os.environ, **{INNER: str(mount)})
        return subprocess.run([unshare, "--mount", sys.executable, "-u", __file__, binary],
                              env=env).returncode
    finally:
        shutil.rmtree(mount, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
