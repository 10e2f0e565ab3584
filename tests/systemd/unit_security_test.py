#!/usr/bin/python3
"""The packaged service unit (systemd/clinic-gateway.service) is hardened: systemd's own
reviewer, `systemd-analyze security --offline=true`, rates its exposure at most 2.0 ("OK"),
and the settings the appliance relies on are there (Type=notify, the state and config
directories, a system user, no capabilities by default).

Usage: unit_security_test.py UNIT_FILE. Exit 77 (skip) without systemd-analyze."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

MAX_EXPOSURE = 2.0
REQUIRED = {
    "Type": "notify",
    "User": "clinic-gateway",
    "StateDirectory": "clinic-gateway",
    "ConfigurationDirectory": "clinic-gateway",
    "Restart": "on-failure",
    "CapabilityBoundingSet": "",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
}


def settings(unit: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def main() -> int:
    unit = Path(sys.argv[1])
    if not shutil.which("systemd-analyze"):
        print("SKIP: systemd-analyze is not installed (Debian package systemd)")
        return 77
    failures = []
    have = settings(unit)
    for key, value in REQUIRED.items():
        if value not in have.get(key, []):
            failures.append(f"{key}={value} missing (has {have.get(key)})")
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
                         capture_output=True, text=True, timeout=120)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out.stdout)
    if not match:
        failures.append("no exposure level in systemd-analyze's output:\n" + out.stdout + out.stderr)
    else:
        exposure = float(match.group(1))
        print(f"systemd-analyze security: exposure {exposure} (at most {MAX_EXPOSURE})")
        if exposure > MAX_EXPOSURE:
            failures.append("exposure above the limit; what counts against it:\n" + "\n".join(
                line for line in out.stdout.splitlines() if line.startswith("✗")))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
