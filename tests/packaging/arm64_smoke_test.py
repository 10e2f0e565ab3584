#!/usr/bin/python3
"""Runs the arm64 package's binary under qemu-user-static: the Raspberry Pi build works.

    tests/packaging/arm64_smoke_test.py build/packages/clinic-gateway_<version>_arm64.deb

The package is unpacked (not installed) into a temporary directory and its
/usr/bin/clinic-gateway runs through qemu-aarch64-static against the arm64 libraries of this
machine's multiarch install (packaging/install-build-deps.sh --cross arm64 puts them there).
The gateway listens on 127.0.0.1 with a port the kernel picks, like every integration test.

Checks: the binary is an aarch64 executable; `version` runs; the daemon starts, answers
/fhir/metadata, stores a Patient and reads it back, and stops with exit code 0 on SIGTERM.
Skipped (77) when qemu-aarch64-static or the arm64 loader is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from gateway_process import SKIP, GatewayProcess  # noqa: E402

QEMU = "qemu-aarch64-static"
LOADER = Path("/lib/ld-linux-aarch64.so.1")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} clinic-gateway_<version>_arm64.deb", file=sys.stderr)
        return 2
    if shutil.which(QEMU) is None or not LOADER.exists():
        print(f"skipped: needs {QEMU} and the arm64 libraries "
              "(packaging/install-build-deps.sh --cross arm64)")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="cg-arm64-") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(["dpkg-deb", "-x", sys.argv[1], str(root)], check=True)
        binary = root / "usr" / "bin" / "clinic-gateway"
        header = binary.read_bytes()[:20]
        check(header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183,
              "the packaged binary is an aarch64 ELF executable")
        version = subprocess.run([QEMU, str(binary), "version"], capture_output=True, text=True,
                                 timeout=120)
        check(version.returncode == 0 and "clinic-gateway" in version.stdout,
              f"`version` runs under qemu: {version.stdout.strip()}")

        with GatewayProcess(str(binary), name="arm64", launcher=[QEMU]) as gw:
            status, _, body = gw.request("GET", "/fhir/metadata", auth=False)
            check(status == 200 and b"CapabilityStatement" in body, "/fhir/metadata answers")
            created, _ = gw.json("POST", "/fhir/Patient",
                                 {"resourceType": "Patient", "name": [{"family": "Mwangi"}]},
                                 expect=201)
            read, _ = gw.json("GET", f"/fhir/Patient/{created['id']}")
            check(read["name"][0]["family"] == "Mwangi", "a stored Patient reads back")
            check(gw.stop() == 0, "the daemon stops cleanly on SIGTERM")
    print("arm64 smoke test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
