#!/usr/bin/python3
"""The `clinic-gateway user …` and `client …` commands, run as an operator would, beside a
serving daemon.

    /usr/bin/python3 identity_cli_test.py <clinic-gateway>

`user add` reads the password from stdin (not a terminal: its first line) and prints the
user; `user list` shows it with its roles and without any hash or the password; a weak
password is refused with exit 1 and adds nobody; `user disable` shows in the list. `client
add` prints the client id and the secret once with the "store it now" line; `client list`
and `client rotate` never print the first secret again, and the rotated secret differs. A
rejected scope, an unknown role and a missing name are usage errors (exit 2). security.db
(and its -wal/-shm) is mode 0600. The real Argon2 cost is used, so the test keeps to a few
hashes.
"""

import stat
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

PASSWORD = "correct horse battery staple"


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with GatewayProcess(binary, name="identity-cli") as gw:
        def command(*words, stdin=""):
            return subprocess.run([binary, *words, "--config", str(gw.config_path)],
                                  input=stdin, capture_output=True, text=True, timeout=120)

        def printed(done) -> str:
            return done.stdout + done.stderr

        added = command("user", "add", "alice", "--role", "clinician", "--role", "admin",
                        stdin=PASSWORD + "\n")
        checks.check("user add from stdin exits 0", added.returncode == 0, printed(added))
        checks.check("user add prints the user", "added user alice" in added.stdout
                     and "admin" in added.stdout, added.stdout)

        weak = command("user", "add", "bob", "--role", "clinician", stdin="short\n")
        checks.check("a weak password is refused with exit 1", weak.returncode == 1, printed(weak))
        checks.check("the refusal says why", "at least 10 characters" in weak.stderr, weak.stderr)

        disabled = command("user", "disable", "alice")
        checks.check("user disable exits 0", disabled.returncode == 0, printed(disabled))
        listed = command("user", "list")
        rows = [line.split() for line in listed.stdout.splitlines()]
        alice = [row for row in rows if row and row[0] == "alice"]
        checks.check("user list shows alice, disabled, with her roles",
                     listed.returncode == 0 and len(alice) == 1 and "yes" in alice[0]
                     and "clinician," in alice[0], listed.stdout)
        checks.check("the refused user was not added",
                     not any(row and row[0] == "bob" for row in rows), listed.stdout)
        everything = printed(added) + printed(weak) + printed(listed)
        checks.check("no hash or password is printed",
                     "argon2" not in everything and "$" not in everything
                     and PASSWORD not in everything, everything)

        client = command("client", "add", "Ward tablet", "--role", "device",
                         "--scope", "system/Patient.rs", "--scope", "system/Observation.cruds")
        fields = dict(line.split(": ", 1) for line in client.stdout.splitlines() if ": " in line)
        client_id, secret = fields.get("client_id", ""), fields.get("client_secret", "")
        checks.check("client add prints an id and a secret",
                     client.returncode == 0 and len(client_id) == 22 and len(secret) == 43,
                     printed(client))
        checks.check("the secret comes with 'store it now, it is not shown again'",
                     "not shown again" in client.stdout, client.stdout)
        clients = command("client", "list")
        checks.check("client list shows the client and its scopes, not its secret",
                     clients.returncode == 0 and client_id in clients.stdout
                     and "system/Observation.cruds" in clients.stdout
                     and secret not in printed(clients) and "sha256" not in clients.stdout,
                     clients.stdout)
        rotated = command("client", "rotate", client_id)
        checks.check("client rotate prints a different secret once",
                     rotated.returncode == 0 and "client_secret: " in rotated.stdout
                     and secret not in rotated.stdout, printed(rotated))

        bad_scope = command("client", "add", "x", "--scope", "system/Patient.xyz")
        checks.check("a rejected scope is a usage error with the reason",
                     bad_scope.returncode == 2 and "refused:" in bad_scope.stderr,
                     printed(bad_scope))
        bad_role = command("user", "add", "carol", "--role", "root", stdin=PASSWORD + "\n")
        checks.check("an unknown role is a usage error", bad_role.returncode == 2
                     and "unknown role 'root'" in bad_role.stderr, printed(bad_role))

        files = [p for p in gw.data_dir.iterdir() if p.name.startswith("security.db")]
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
        checks.check("security.db and its -wal/-shm are mode 0600",
                     "security.db" in modes and all(m == 0o600 for m in modes.values()),
                     str({k: oct(v) for k, v in modes.items()}))
        status, _, _ = gw.request("GET", "/health", auth=False)
        checks.check("the daemon served on meanwhile", status == 200, str(status))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
