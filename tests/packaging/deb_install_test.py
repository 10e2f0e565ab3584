#!/usr/bin/python3
"""Installs the amd64 .deb on this machine and checks what a clinic's IT helper would get.

    tests/packaging/deb_install_test.py build/packages/clinic-gateway_<version>_amd64.deb

Root only (dpkg). The machine is changed and put back: the package is installed, upgraded,
removed and purged; the system user is deleted at the end if this test created it. The test
refuses to run where clinic-gateway is installed already (purging would delete that
gateway's data). Everything after dpkg runs in a network namespace of the test's own, so the
packaged listeners (0.0.0.0:8443, :2575, :5514, :6514) meet nothing but this test.

Checks, in order:
  1. install: the system user (no login shell), the files in their places, the conffile,
     a self-signed certificate, the data directory owned by the user, a generated admin
     password printed once, and `systemd-analyze verify` of the installed unit;
  2. the binary, started as the packaged user with the packaged config, answers /health and
     /fhir/metadata over HTTPS, gives the admin a token, stores and reads a Patient, has its
     MLLP and syslog listeners up, and stops cleanly on SIGTERM;
  3. upgrade (the same package with a higher version): config changes and data are kept,
     no new password, the Patient is still there;
  4. remove keeps the data; purge deletes data and configuration.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

SKIP = 77
PACKAGE = "clinic-gateway"
USER = "clinic-gateway"
CONFIG = Path("/etc/clinic-gateway/gateway.toml")
CERT = Path("/etc/clinic-gateway/tls/gateway.crt")
KEY = Path("/etc/clinic-gateway/tls/gateway.key")
DATA = Path("/var/lib/clinic-gateway")
UNIT = Path("/lib/systemd/system/clinic-gateway.service")
PORT = 8443
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def installed() -> bool:
    done = run("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False)
    return done.returncode == 0 and "installed" in done.stdout and "not-installed" not in done.stdout


def mode_owner(path: Path) -> tuple[int, str, str]:
    st = path.stat()
    import grp
    return stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


# ---- the daemon, as the packaged user -------------------------------------------------------

class PackagedGateway:
    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.log: list[str] = []

    def start(self) -> None:
        user = pwd.getpwnam(USER)
        self.proc = subprocess.Popen(
            ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
             "/usr/bin/clinic-gateway", "serve", "--config", str(CONFIG)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, cwd="/")
        listening = threading.Event()

        def pump(stream) -> None:
            for line in stream:
                self.log.append(line)
                if f"listening on https://0.0.0.0:{PORT}/fhir" in line:
                    listening.set()

        self.reader = threading.Thread(target=pump, args=(self.proc.stderr,), daemon=True)
        self.reader.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening.wait(0.05):  # bounded: the log line, an exit, or the deadline
            if self.proc.poll() is not None:
                self.reader.join(5)
                raise AssertionError("gateway exited during start-up:\n" + "".join(self.log))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("gateway did not log its HTTPS listener:\n" + "".join(self.log))

    def stop(self) -> int:
        assert self.proc
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(STOP_TIMEOUT_S)
        self.reader.join(10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT_S)


def request(method: str, path: str, body: bytes | None = None,
            headers: dict | None = None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(CERT))  # verifies the name 127.0.0.1 too
    conn = http.client.HTTPSConnection("127.0.0.1", PORT, context=context, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def admin_token(password: str) -> str:
    form = urllib.parse.urlencode({"grant_type": "password", "username": "admin",
                                   "password": password, "scope": "user/*.cruds"}).encode()
    status, body = request("POST", "/auth/token", form,
                           {"Content-Type": "application/x-www-form-urlencoded"})
    check(status == 200, f"the admin gets a token with the printed password ({status})")
    return json.loads(body)["access_token"]


def listening(port: int, proto: str = "tcp") -> bool:
    flag = "-ltn" if proto == "tcp" else "-lun"
    return f":{port} " in run("ss", "-H", flag, check=False).stdout


# ---- the steps -----------------------------------------------------------------------------

def install(deb: Path) -> str:
    done = run("dpkg", "-i", str(deb))
    output = done.stdout + done.stderr
    print(output)
    passwords = re.findall(r"^password: (\S+)$", output, re.MULTILINE)
    check(len(passwords) == 1, "install printed one generated admin password")
    check("next steps:" in output and "avahi-browse" in output, "install printed the next steps")

    user = pwd.getpwnam(USER)
    check(user.pw_shell in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false"),
          f"system user {USER} has no login shell ({user.pw_shell})")
    check(user.pw_uid < 1000, f"system user {USER} has a system uid ({user.pw_uid})")
    for path in ["/usr/bin/clinic-gateway", str(UNIT), "/usr/lib/sysusers.d/clinic-gateway.conf",
                 "/usr/lib/tmpfiles.d/clinic-gateway.conf", str(CONFIG),
                 "/usr/share/man/man8/clinic-gateway.8.gz"]:
        check(Path(path).exists(), f"installed {path}")
    docs = Path("/usr/share/doc/clinic-gateway")
    check((docs / "install.md").exists() or (docs / "install.md.gz").exists(),
          "installed the install guide in /usr/share/doc/clinic-gateway")
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE).stdout
    check(str(CONFIG) in conffiles, f"{CONFIG} is a conffile")
    check(mode_owner(DATA)[1:] == (USER, USER), f"{DATA} belongs to {USER}")
    check(mode_owner(DATA / "security.db") == (0o600, USER, USER), "security.db: 0600, the user's")
    check(mode_owner(KEY) == (0o640, "root", USER), "the TLS key: 0640 root:clinic-gateway")
    subject = run("openssl", "x509", "-in", str(CERT), "-noout", "-ext", "subjectAltName").stdout
    check("IP Address:127.0.0.1" in subject and ".local" in subject,
          "the certificate names this machine (.local) and 127.0.0.1")
    verify = run("systemd-analyze", "verify", str(UNIT), check=False)
    check(verify.returncode == 0, "systemd-analyze verify accepts the installed unit:\n"
          + verify.stdout + verify.stderr)
    return passwords[0]


def serve_and_store(password: str) -> str:
    gateway = PackagedGateway()
    gateway.start()
    try:
        status, body = request("GET", "/health")
        check(status == 200, f"/health answers 200 ({status})")
        status, body = request("GET", "/fhir/metadata")
        check(status == 200 and b"CapabilityStatement" in body, "/fhir/metadata over HTTPS")
        check(listening(2575), "the HL7v2 MLLP listener is up on 2575")
        check(listening(6514) and listening(5514) and listening(5514, "udp"),
              "the ATNA syslog listeners are up (udp/tcp 5514, tls 6514)")
        token = admin_token(password)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
        patient = json.dumps({"resourceType": "Patient",
                              "name": [{"family": "Wanjiru", "given": ["Akinyi"]}]}).encode()
        status, body = request("POST", "/fhir/Patient", patient, auth)
        check(status == 201, f"a Patient is stored ({status})")
        patient_id = json.loads(body)["id"]
        status, body = request("GET", f"/fhir/Patient/{patient_id}", headers=auth)
        check(status == 200 and b"Wanjiru" in body, "the Patient reads back")
    except BaseException:
        gateway.kill()
        print("---- gateway log ----\n" + "".join(gateway.log), file=sys.stderr)
        raise
    check(gateway.stop() == 0, "the gateway stops cleanly on SIGTERM")
    return patient_id


def backup_as_packaged_user() -> None:
    """`backup` loads libarchive at run time (the daemon does not link it): the package's
    dependency must bring it, and the binary must not map it while serving."""
    needed = run("readelf", "-d", "/usr/bin/clinic-gateway").stdout
    check("libarchive" not in needed, "the daemon binary does not link libarchive")
    user = pwd.getpwnam(USER)
    with tempfile.TemporaryDirectory(prefix="cg-deb-backup-") as tmp:
        os.chown(tmp, user.pw_uid, user.pw_gid)
        archive = Path(tmp) / "gateway.tar"
        done = run("setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups",
                   "/usr/bin/clinic-gateway", "backup", str(archive), "--config", str(CONFIG),
                   check=False)
        check(done.returncode == 0, "the packaged user backs up the gateway:\n"
              + done.stdout + done.stderr)
        listing = run("tar", "tf", str(archive)).stdout.split()
        check("data/clinical.db" in listing and "manifest.json" in listing,
              f"the backup holds clinical.db and its manifest ({listing})")


def repack_with_version(deb: Path, version: str, into: Path) -> Path:
    tree = into / "tree"
    run("dpkg-deb", "-R", str(deb), str(tree))
    control = tree / "DEBIAN" / "control"
    text = re.sub(r"^Version: .*$", f"Version: {version}", control.read_text(), flags=re.M)
    control.write_text(text)
    out = into / f"clinic-gateway_{version}_amd64.deb"
    run("dpkg-deb", "--root-owner-group", "-b", str(tree), str(out))
    return out


def upgrade(deb: Path, password: str, patient_id: str) -> None:
    CONFIG.write_text(CONFIG.read_text().replace('level = "info"', 'level = "debug"'))
    db_before = (DATA / "clinical.db").stat().st_ino
    with tempfile.TemporaryDirectory(prefix="cg-deb-") as tmp:
        newer = repack_with_version(deb, run("dpkg-deb", "-f", str(deb), "Version").stdout.strip()
                                    + "+upgrade1", Path(tmp))
        done = run("dpkg", "-i", str(newer))
    output = done.stdout + done.stderr
    check("password:" not in output, "the upgrade prints no new password")
    check('level = "debug"' in CONFIG.read_text(), "the operator's config change survives")
    check((DATA / "clinical.db").stat().st_ino == db_before, "clinical.db is the same file")

    gateway = PackagedGateway()
    gateway.start()
    try:
        token = admin_token(password)
        status, body = request("GET", f"/fhir/Patient/{patient_id}",
                               headers={"Authorization": f"Bearer {token}"})
        check(status == 200 and b"Wanjiru" in body, "the Patient is still there after the upgrade")
    except BaseException:
        gateway.kill()
        print("---- gateway log ----\n" + "".join(gateway.log), file=sys.stderr)
        raise
    check(gateway.stop() == 0, "the upgraded gateway stops cleanly")


def remove_and_purge() -> None:
    run("dpkg", "-r", PACKAGE)
    check(not Path("/usr/bin/clinic-gateway").exists(), "remove deletes the binary")
    check((DATA / "clinical.db").exists(), "remove keeps the data")
    run("dpkg", "-P", PACKAGE)
    check(not DATA.exists(), "purge deletes the data directory")
    check(not Path("/etc/clinic-gateway").exists(), "purge deletes the configuration")


def in_own_network() -> None:
    """Re-runs this script in a new network namespace (loopback only), once."""
    if os.environ.get("CG_DEB_TEST_NETNS") == "1":
        run("ip", "link", "set", "lo", "up")
        return
    env = dict(os.environ, CG_DEB_TEST_NETNS="1")
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


def main() -> int:
    if len(sys.argv) != 2:
        print(f"usage: {sys.argv[0]} clinic-gateway_<version>_amd64.deb", file=sys.stderr)
        return 2
    deb = Path(sys.argv[1]).resolve()
    if os.geteuid() != 0:
        print("skipped: installing a package needs root")
        return SKIP
    for tool in ("dpkg", "unshare", "setpriv", "systemd-analyze", "ss", "openssl", "readelf", "tar"):
        if shutil.which(tool) is None:
            print(f"skipped: {tool} is missing")
            return SKIP
    if installed():
        print("refused: clinic-gateway is installed on this machine, and this test purges it")
        return 1
    in_own_network()
    user_existed = True
    try:
        pwd.getpwnam(USER)
    except KeyError:
        user_existed = False
    try:
        password = install(deb)
        patient_id = serve_and_store(password)
        backup_as_packaged_user()
        upgrade(deb, password, patient_id)
        remove_and_purge()
    finally:
        if installed() or run("dpkg-query", "-W", PACKAGE, check=False).returncode == 0:
            run("dpkg", "-P", PACKAGE, check=False)
        if not user_existed:
            run("pkill", "-KILL", "-u", USER, check=False)  # a daemon a failed step left running
            run("userdel", USER, check=False)
            run("groupdel", USER, check=False)
    print("deb install test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
