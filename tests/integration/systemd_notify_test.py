#!/usr/bin/python3
"""The daemon speaks systemd's notify protocol (sd_notify(3)) as the Type=notify unit expects:
READY=1 with a STATUS= line once it serves, RELOADING=1 then READY=1 around a SIGHUP reload,
STOPPING=1 on SIGTERM, and WATCHDOG=1 every half WatchdogSec while its event loops turn
(gateway/watchdog.hpp).

Hermetic: the test plays systemd's part with its own AF_UNIX datagram socket (NOTIFY_SOCKET)
and WATCHDOG_USEC in the daemon's environment; no systemd is needed.

Usage: systemd_notify_test.py BINARY"""

import os
import re
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

WATCHDOG_USEC = 400_000  # pings expected every 200 ms
WAIT_S = 30


class NotifySocket:
    def __init__(self, directory: Path):
        self.path = directory / "notify"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.messages: list[str] = []

    def wait_for(self, wanted: str, count: int = 1) -> bool:
        """Reads datagrams until `count` of them contain the line `wanted` (bounded)."""
        deadline = time.monotonic() + WAIT_S
        while self.count(wanted) < count and time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except socket.timeout:
                break
        return self.count(wanted) >= count

    def wait_for_match(self, pattern: str) -> bool:
        """Reads datagrams until a line of one matches `pattern` (bounded)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if any(re.match(pattern, line) for m in self.messages for line in m.splitlines()):
                return True
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(65536).decode())
            except socket.timeout:
                break
        return False

    def count(self, wanted: str) -> int:
        return sum(1 for m in self.messages if wanted in m.splitlines())


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="cg-notify-") as tmp:
        notify = NotifySocket(Path(tmp))
        os.environ["NOTIFY_SOCKET"] = str(notify.path)
        os.environ["WATCHDOG_USEC"] = str(WATCHDOG_USEC)
        gw = GatewayProcess(binary, {
            "mllp": {"enabled": True, "port": 0},
            "atna": {"enabled": True, "udp_port": 0, "tcp_port": 0},
        }, name="notify")
        with gw:
            checks.check("READY=1 once serving", notify.wait_for("READY=1"), str(notify.messages))
            ready = next((m for m in notify.messages if "READY=1" in m.splitlines()), "")
            checks.check("STATUS= names the listeners", "STATUS=FHIR on http" in ready
                         and "HL7v2 MLLP on" in ready and "ATNA syslog on" in ready, ready)
            checks.check("WATCHDOG=1 keeps coming while the loops turn",
                         notify.wait_for("WATCHDOG=1", 3), str(notify.messages[-3:]))
            checks.check("the watchdog interval is logged",
                         "systemd watchdog: pinging every 200 ms" in gw.log_text())
            gw.proc.send_signal(signal.SIGHUP)
            checks.check("RELOADING=1 on SIGHUP", notify.wait_for("RELOADING=1"))
            checks.check("READY=1 again after the reload", notify.wait_for("READY=1", 2))
            checks.check("a STATUS= line with the load since the last one",
                         notify.wait_for_match(r"^STATUS=FHIR on .*; last \d+ s: \d+ HTTP requests, "
                                               r"\d+ HL7v2 messages, \d+ audit records; \d+ "
                                               r"connections?$"), str(notify.messages[-3:]))
            pings = notify.count("WATCHDOG=1")
            checks.check("pings go on after the reload", notify.wait_for("WATCHDOG=1", pings + 2))
            checks.check("the daemon stops cleanly", gw.stop() == 0, gw.log_tail())
            checks.check("STOPPING=1 on SIGTERM", notify.wait_for("STOPPING=1"))
            checks.check("no watchdog complaint in the log", "has not turned" not in gw.log_text())
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
