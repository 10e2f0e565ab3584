#!/usr/bin/python3
"""`clinic-gateway init` as a clinic's IT person (or the package's postinst) runs it, then the
gateway it set up, serving.

    /usr/bin/python3 init_test.py <clinic-gateway>

init writes a config (mode 0640) that check-config accepts, a data directory (0700) with
security.db (0600) and the token signing key (0600 in a 0700 keys/), and adds the admin with a
generated password printed once. The daemon started with exactly that config (port 0, read
back from its log) lets the admin log in at POST /auth/token with the printed password
(password grant) and read /fhir/metadata and /fhir/Patient with the access token; without
a token /fhir/Patient is 401. Run again, init keeps everything and adds no second admin,
also while the daemon serves. --password-stdin takes the admin's password from stdin and
does not print it. The printed password never reaches the daemon's log.
"""

import json
import re
import stat
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="cg-init-") as tmp:
        root = Path(tmp)
        config = root / "etc" / "clinic-gateway" / "gateway.toml"
        data = root / "var" / "lib" / "clinic-gateway"

        def init(*extra, stdin=""):
            return subprocess.run([binary, "init", "--config", str(config), "--data-dir",
                                   str(data), "--http-port", "0", *extra],
                                  input=stdin, capture_output=True, text=True, timeout=120)

        first = init()
        checks.check("init exits 0", first.returncode == 0, first.stdout + first.stderr)
        found = re.search(r"^password: (\S+)$", first.stdout, re.M)
        password = found.group(1) if found else ""
        checks.check("init prints the admin's password once, with 'store it now'",
                     len(password) == 29 and first.stdout.count(password) == 1
                     and "not shown again" in first.stdout, first.stdout)
        checks.check("init prints the next steps", "next steps:" in first.stdout
                     and "/auth/token" in first.stdout, first.stdout)
        checks.check("the config is mode 0640", mode(config) == 0o640, oct(mode(config)))
        checked = subprocess.run([binary, "check-config", str(config)], capture_output=True,
                                 text=True, timeout=60)
        checks.check("check-config accepts the config", checked.returncode == 0,
                     checked.stdout + checked.stderr)
        key = data / "keys" / "token-signing-key.pem"
        checks.check("data dir 0700, security.db 0600, key 0600 in keys/ 0700",
                     mode(data) == 0o700 and mode(data / "security.db") == 0o600
                     and mode(key) == 0o600 and mode(key.parent) == 0o700,
                     str([oct(mode(p)) for p in (data, data / "security.db", key, key.parent)
                          if p.exists()]))

        with GatewayProcess(binary, name="init", config_file=config) as gw:
            form = urllib.parse.urlencode({"grant_type": "password", "username": "admin",
                                           "password": password,
                                           "scope": "user/*.cruds"})
            status, _, body = gw.request("POST", "/auth/token", form, FORM, auth=False)
            answer = json.loads(body) if body.startswith(b"{") else {}
            token = answer.get("access_token", "")
            checks.check("the admin logs in with the printed password (password grant)",
                         status == 200 and token.count(".") == 2
                         and answer.get("token_type") == "Bearer", f"{status} {body[:300]!r}")
            bearer = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
            status, _, body = gw.request("GET", "/fhir/metadata", headers=bearer, auth=False)
            checks.check("GET /fhir/metadata with the token",
                         status == 200 and b'"CapabilityStatement"' in body, f"{status}")
            status, _, body = gw.request("GET", "/fhir/Patient", headers=bearer, auth=False)
            checks.check("GET /fhir/Patient with the token is a searchset",
                         status == 200 and json.loads(body).get("type") == "searchset",
                         f"{status} {body[:300]!r}")
            status, _, _ = gw.request("GET", "/fhir/Patient", auth=False)
            checks.check("GET /fhir/Patient without a token is 401", status == 401, str(status))

            again = init()
            checks.check("init run again beside the serving daemon exits 0",
                         again.returncode == 0, again.stdout + again.stderr)
            checks.check("it keeps the config and the key and adds no admin",
                         "config: kept" in again.stdout and "signing key: kept" in again.stdout
                         and "none added" in again.stdout
                         and not re.search(r"^password: ", again.stdout, re.M), again.stdout)
            status, _, _ = gw.request("POST", "/auth/token", form, FORM, auth=False)
            checks.check("the admin's password still works", status == 200, str(status))
            checks.check("the password is not in the daemon's log", password not in gw.log_text())
            checks.check("the daemon stops cleanly", gw.stop() == 0)

        other = root / "other"
        chosen = "a passphrase chosen by the IT person"
        piped = subprocess.run([binary, "init", "--config", str(other / "gateway.toml"),
                                "--data-dir", str(other / "data"), "--admin", "it-support",
                                "--password-stdin"],
                               input=chosen + "\n", capture_output=True, text=True, timeout=120)
        checks.check("init --password-stdin adds the admin with that password, not printed",
                     piped.returncode == 0 and "added it-support" in piped.stdout
                     and chosen not in piped.stdout + piped.stderr
                     and not re.search(r"^password: ", piped.stdout, re.M),
                     piped.stdout + piped.stderr)
        listed = subprocess.run([binary, "user", "list", "--config", str(other / "gateway.toml")],
                                capture_output=True, text=True, timeout=60)
        checks.check("user list on that config shows it-support as admin",
                     re.search(r"^it-support\s+admin\s", listed.stdout, re.M) is not None,
                     listed.stdout + listed.stderr)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
