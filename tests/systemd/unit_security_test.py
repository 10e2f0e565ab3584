#!/usr/bin/python3
"""The packaged systemd files. The service unit (systemd/clinic-gateway.service) is hardened:
systemd's own reviewer, `systemd-analyze security --offline=true`, rates its exposure at most
2.0 ("OK"), and the settings the appliance relies on are there (Type=notify, the state and
config directories, a system user, no capabilities by default). The sysusers.d and
tmpfiles.d snippets beside it, applied by systemd-sysusers and systemd-tmpfiles to an empty
root directory, create the user and its directories with the right owner and modes.

Usage: unit_security_test.py UNIT_FILE. Exit 77 (skip) without systemd-analyze."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

MAX_EXPOSURE = 2.0
REQUIRED = {
    "Type": "notify",
    "User": "clinic-gateway",
    "StateDirectory": "clinic-gateway",
    "ConfigurationDirectory": "clinic-gateway",
    "Restart": "on-failure",
    "WatchdogSec": "30s",
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


def check_snippets(unit: Path, failures: list[str]) -> None:
    """sysusers + tmpfiles into an empty root: the user exists, its directories are its own."""
    sysusers = unit.with_suffix(".sysusers").resolve()
    tmpfiles = unit.with_suffix(".tmpfiles").resolve()
    if os.geteuid() != 0:
        print("note: not root, the sysusers/tmpfiles check is left out (it chowns)")
        return
    with tempfile.TemporaryDirectory(prefix="cg-sysroot-") as root:
        Path(root, "etc").mkdir()
        for cmd in (["systemd-sysusers", f"--root={root}", str(sysusers)],
                    ["systemd-tmpfiles", f"--root={root}", "--create", str(tmpfiles)]):
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                failures.append(f"{' '.join(cmd)} failed: {done.stderr}")
                return
        users = {line.split(":")[0]: line.split(":") for line in
                 Path(root, "etc/passwd").read_text().splitlines()}
        user = users.get("clinic-gateway")
        if user is None:
            failures.append("sysusers created no clinic-gateway user")
            return
        if user[6] != "/usr/sbin/nologin":
            failures.append(f"clinic-gateway has a login shell: {user[6]}")
        state = Path(root, "var/lib/clinic-gateway").stat()
        if state.st_uid != int(user[2]) or state.st_mode & 0o777 != 0o750:
            failures.append(f"/var/lib/clinic-gateway is uid {state.st_uid} mode "
                            f"{oct(state.st_mode & 0o777)}, not the user's and 0750")
        config = Path(root, "etc/clinic-gateway").stat()
        if config.st_gid != int(user[3]) or config.st_mode & 0o777 != 0o750:
            failures.append("/etc/clinic-gateway is not root:clinic-gateway 0750")
        print(f"sysusers/tmpfiles: user clinic-gateway (uid {user[2]}), directories created")


def check_discovery_allowed(have: dict[str, list[str]], failures: list[str]) -> None:
    """Discovery talks to avahi-daemon over the D-Bus system bus: an AF_UNIX socket at
    /run/dbus/system_bus_socket. The hardening must leave both reachable."""
    families = " ".join(have.get("RestrictAddressFamilies", [])).split()
    if families and ("AF_UNIX" not in families or families[0].startswith("~")):
        failures.append(f"RestrictAddressFamilies={' '.join(families)} blocks AF_UNIX (D-Bus)")
    for key in ("InaccessiblePaths", "TemporaryFileSystem"):
        for value in have.get(key, []):
            if any(p.lstrip("-") in ("/run", "/run/dbus", "/var/run") for p in value.split()):
                failures.append(f"{key}={value} hides the D-Bus system bus socket")


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
    check_discovery_allowed(have, failures)
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
    check_snippets(unit, failures)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
