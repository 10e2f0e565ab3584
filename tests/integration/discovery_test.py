#!/usr/bin/python3
"""Discovery: the daemon announces its listeners over mDNS/DNS-SD through avahi-daemon, as
avahi-browse (Debian's avahi-utils) sees them (docs/operations.md, "Discovery").

Checks, in one run:
  0. with no D-Bus system bus at all, the gateway logs one warning, serves and stops cleanly;
  1. started while avahi-daemon is absent (the D-Bus system bus runs), the gateway logs one
     warning and serves; once avahi-daemon starts, it announces _clinic-gateway._tcp,
     _hl7-mllp._tcp and _syslog-tls._tcp with the bound ports and the documented TXT items;
  2. avahi-daemon killed and started again: the services come back;
  3. SIGTERM withdraws them;
  4. its instance name already taken (avahi-publish-service): the gateway takes the
     alternative name "... #2" and logs it.

Hermetic: everything runs in a network and mount namespace the test makes for itself
(`unshare --net --mount`, re-running this script inside), whose only interface is lo (with
MULTICAST on). A tmpfs on /run holds the private D-Bus system bus (dbus-daemon with a
generated config) and avahi-daemon's pid file and socket; avahi-daemon runs with a generated
config limited to lo. Nothing is sent on the host's networks.

Needs root (namespaces, tmpfs) and dbus-daemon, avahi-daemon, avahi-browse,
avahi-publish-service, unshare and ip; skips (77) with a message otherwise.

Usage: discovery_test.py BINARY"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import SKIP, Checks, GatewayProcess, binary_from_argv  # noqa: E402

INNER_ENV = "CG_DISCOVERY_TEST_INNER"
WAIT_S = 30  # every wait below polls until this deadline
NODE = "disco-node"
INSTANCE = f"Clinic Gateway {NODE}"
MLLP_ADDRESS = "10.77.0.1"  # a second address on lo: a listener on one address
BUS_SOCKET = "/run/dbus/system_bus_socket"
TOOLS = ["dbus-daemon", "avahi-daemon", "avahi-browse", "avahi-publish-service", "unshare", "ip",
         "openssl"]

BUS_CONFIG = f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={BUS_SOCKET}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name=cg-discovery-test
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
"""


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (it makes its own network and mount namespace)"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return (f"{', '.join(missing)} not installed "
                "(apt-get install dbus avahi-daemon avahi-utils util-linux iproute2 openssl)")
    probe = subprocess.run(["unshare", "--net", "--mount", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        return f"unshare --net --mount is not allowed here: {probe.stderr.decode().strip()}"
    return None


def outer(argv: list[str]) -> int:
    """Re-runs this script inside a fresh network and mount namespace."""
    reason = skip_reason()
    if reason:
        print(f"SKIP: {reason}")
        return SKIP
    env = dict(os.environ, **{INNER_ENV: "1"})
    return subprocess.run(["unshare", "--net", "--mount", "--propagation", "private",
                           sys.executable, "-u", *argv], env=env).returncode


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=WAIT_S, **kw)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "gateway.crt", directory / "gateway.key"
    run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)])
    return cert, key


class Avahi:
    """avahi-daemon in the foreground on the private bus, logging to a file."""

    def __init__(self, directory: Path):
        self.config = directory / "avahi-daemon.conf"
        self.config.write_text(AVAHI_CONFIG)
        self.log = directory / "avahi-daemon.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                ["avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f",
                 str(self.config)], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        deadline = time.monotonic() + WAIT_S
        while b"Server startup complete" not in self.log.read_bytes()[offset:]:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("avahi-daemon did not start:\n" + self.log.read_text())
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT_S)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(WAIT_S)


def unescape(label: str) -> str:
    """avahi-browse -p writes some characters of names as \\DDD (decimal)."""
    return re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), label)


def browse(service_type: str) -> dict[str, dict]:
    """Resolved instances of `service_type`: name → {port, txt, interface}."""
    out = subprocess.run(["avahi-browse", "-rpt", service_type], capture_output=True,
                         timeout=WAIT_S, text=True).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split(";")
        if fields[0] != "=" or len(fields) < 10:
            continue
        found[unescape(fields[3])] = {"interface": fields[1], "port": int(fields[8]),
                                      "txt": re.findall(r'"([^"]*)"', ";".join(fields[9:]))}
    return found


def wait_browse(service_type: str, ready) -> dict[str, dict]:
    """Browses until ready(found) holds or the deadline passes; returns the last result."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = browse(service_type)
        if ready(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def check_announced(checks: Checks, gw: GatewayProcess, name: str, when: str) -> None:
    expected = {
        "_clinic-gateway._tcp": (gw.port, ["tls=off", "path=/fhir", "token=/auth/token"]),
        "_hl7-mllp._tcp": (gw.mllp_port, ["tls=off"]),
        "_syslog-tls._tcp": (gw.atna_ports.get("tls"), ["tls=on"]),
    }
    for service_type, (port, specific) in expected.items():
        found = wait_browse(service_type, lambda f: name in f)
        entry = found.get(name)
        if not checks.check(f"{when}: {service_type} announced as '{name}'", entry is not None,
                            f"avahi-browse found {sorted(found)}"):
            continue
        checks.check(f"{when}: {service_type} port", entry["port"] == port,
                     f"{entry['port']} != {port}")
        txt = ["txtvers=1", f"node={NODE}", f"version={gw_version(gw)}", *specific]
        checks.check(f"{when}: {service_type} TXT", sorted(entry["txt"]) == sorted(txt),
                     f"{entry['txt']} != {txt}")


_version: dict[str, str] = {}


def gw_version(gw: GatewayProcess) -> str:
    """What `clinic-gateway version` says."""
    if "v" not in _version:
        first = run([gw.binary, "version"], text=True).stdout.splitlines()[0]
        _version["v"] = first.split()[-1]
    return _version["v"]


def discovery_warnings(gw: GatewayProcess, after: int = 0) -> list[str]:
    """The discovery lines logged at warning or error, from log line `after` on."""
    return [line for line in gw.log_text().splitlines()[after:]
            if re.search(r"\b(warning|error)\b", line) and "discovery:" in line]


def inner(binary: str) -> int:
    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="cg-discovery-"))
    bus = avahi = publisher = gw = None
    try:
        # The namespace's own /run (bus socket, avahi-daemon's pid file and socket) and lo.
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])
        os.makedirs("/run/dbus")
        os.makedirs("/run/avahi-daemon")
        run(["ip", "link", "set", "lo", "up"])
        run(["ip", "link", "set", "lo", "multicast", "on"])
        run(["ip", "addr", "add", f"{MLLP_ADDRESS}/32", "dev", "lo"])
        cert, key = make_certificate(work)
        gw = GatewayProcess(binary, {
            "http": {"address": "0.0.0.0"},
            "mllp": {"enabled": True, "address": MLLP_ADDRESS, "port": 0},
            "atna": {"enabled": True, "address": "0.0.0.0", "udp": False, "tcp": False,
                     "tls_port": 0},
            "atna.tls": {"certificate": str(cert), "private_key": str(key)},
        }, name=NODE)

        # 0. No system bus at all: one warning, the gateway serves and stops cleanly.
        os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={BUS_SOCKET}"
        gw.start()
        checks.check("no bus: warned", gw.wait_for_log(r"discovery: no D-Bus system bus"))
        status, _, _ = gw.request("GET", "/fhir/metadata", auth=False)
        checks.check("no bus: serves", status == 200, f"HTTP {status}")
        checks.check("no bus: stops cleanly", gw.stop() == 0)
        warnings = discovery_warnings(gw)
        checks.check("no bus: exactly one discovery warning, no error", len(warnings) == 1,
                     "\n".join(warnings))
        lines = gw.log_line_count()

        (work / "bus.conf").write_text(BUS_CONFIG)
        bus = subprocess.Popen(["dbus-daemon", "--nofork", "--nopidfile", "--print-address",
                                f"--config-file={work / 'bus.conf'}"],
                               stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        address = bus.stdout.readline().decode().strip()  # printed once it listens
        if not address:
            raise AssertionError("dbus-daemon did not start")
        avahi = Avahi(work)

        # 1. No avahi-daemon yet: one warning, the gateway serves; then it announces.
        gw.start()
        checks.check("no avahi-daemon: warned",
                     gw.wait_for_log(r"discovery: avahi-daemon is not running", after=lines))
        status, _, _ = gw.request("GET", "/fhir/metadata", auth=False)
        checks.check("serves without avahi-daemon", status == 200, f"HTTP {status}")
        avahi.start()
        check_announced(checks, gw, INSTANCE, "avahi-daemon started late")
        warnings = discovery_warnings(gw, after=lines)
        checks.check("exactly one discovery warning, no error", len(warnings) == 1
                     and "avahi-daemon is not running" in warnings[0], "\n".join(warnings))

        # 2. avahi-daemon killed and started again: announced again.
        avahi.kill()
        avahi.start()
        check_announced(checks, gw, INSTANCE, "after avahi-daemon restarted")

        # 3. SIGTERM withdraws the services.
        checks.check("stops cleanly", gw.stop() == 0)
        gone = wait_browse("_clinic-gateway._tcp", lambda f: INSTANCE not in f)
        checks.check("withdrawn at stop", INSTANCE not in gone, f"still there: {sorted(gone)}")

        # 4. The name is taken: the gateway takes the alternative and says so.
        publisher = subprocess.Popen(
            ["avahi-publish-service", INSTANCE, "_clinic-gateway._tcp", "9", "owner=other"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        taken = wait_browse("_clinic-gateway._tcp", lambda f: INSTANCE in f)
        checks.check("avahi-publish-service holds the name", taken.get(INSTANCE, {}).get("port") == 9,
                     f"{taken}")
        lines = gw.log_line_count()
        gw.start()
        alternative = f"{INSTANCE} #2"
        checks.check("the collision is logged with the new name", gw.wait_for_log(
            re.escape(f"the name '{INSTANCE}' is taken on the network; announcing as "
                      f"'{alternative}'"), after=lines, timeout=WAIT_S))
        check_announced(checks, gw, alternative, "after a name collision")
        still = browse("_clinic-gateway._tcp").get(INSTANCE, {})
        checks.check("the other service keeps its name", still.get("port") == 9, f"{still}")
        checks.check("stops cleanly after the collision", gw.stop() == 0)
    finally:
        if gw:
            gw.cleanup()
        if publisher:
            publisher.terminate()
            publisher.wait(WAIT_S)
        if avahi:
            avahi.stop()
        if bus:
            bus.terminate()
            bus.wait(WAIT_S)
        shutil.rmtree(work, ignore_errors=True)
    return checks.summary()


def main() -> int:
    binary = os.path.abspath(binary_from_argv(sys.argv))  # the daemon runs in its temp dir
    if os.environ.get(INNER_ENV) != "1":
        return outer(sys.argv)
    return inner(binary)


if __name__ == "__main__":
    sys.exit(main())
