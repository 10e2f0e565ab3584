#!/usr/bin/python3
"""Bridged login: a clinic gateway lets in the users of its upstream gateway, and keeps
letting them in offline with a cached verifier until it expires.

    /usr/bin/python3 bridged_login_test.py <clinic-gateway>

Two real daemons on loopback: the upstream ("district", with a user added by `clinic-gateway
user add`) and the clinic, whose [upstream] token_url is the district's /auth/token.

Phase 1, upstream up: the district user logs in at the clinic (password grant) and the
clinic's own access token opens /fhir/Patient; a wrong password is invalid_grant; `user list`
shows the user as origin "upstream" with when it was verified; disabling the user at the
clinic refuses it although the upstream accepts (and its earlier access token is 401);
enabled again it logs in. Its password changed upstream (`user passwd` there), the old one
is refused at the clinic and the new one works.
Phase 2, upstream killed: the cached verifier of the new password lets the user in (an
offline_login security event says so); the old password fails, saying the upstream cannot
be reached.
Phase 3, the clinic restarted with auth.cached_login_ttl_hours = 0: offline logins stop.
Phase 4, a stand-in upstream (Python, counting requests): a local user's logins never
reach it, an unknown name does; five refused guesses lock the name, the lockout is a
warning log line and a security event, and the next attempt does not reach the upstream.
No log holds a password.
"""

import http.server
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

DISTRICT_PASSWORD = "district passphrase one"
CHANGED_PASSWORD = "district passphrase two"
LOCAL_PASSWORD = "clinic local passphrase"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class CountingUpstream:
    """A token endpoint that refuses every password and counts who asked."""

    def __init__(self):
        self.requests: list[dict] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                outer.requests.append({k: v[0] for k, v in form.items()})
                body = json.dumps({"error": "invalid_grant",
                                   "error_description": "invalid username or password"}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/auth/token"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def set_config(gw: GatewayProcess, key: str, value: str) -> None:
    """Replaces the line `key = …` of the daemon's config (each key appears once)."""
    text = gw.config_path.read_text()
    text, n = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {value}", text)
    assert n == 1, f"{key} not in the config"
    gw.config_path.write_text(text)


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()

    def command(gw: GatewayProcess, *words, stdin=""):
        return subprocess.run([binary, *words, "--config", str(gw.config_path)],
                              input=stdin, capture_output=True, text=True, timeout=120)

    def login(gw: GatewayProcess, username: str, password: str, scope: str = "user/*.rs"):
        form = {"grant_type": "password", "username": username, "password": password,
                "scope": scope}
        status, _, data = gw.request("POST", "/auth/token", urllib.parse.urlencode(form), FORM,
                                     auth=False)
        return status, json.loads(data) if data else {}

    def fhir_status(gw: GatewayProcess, access: str) -> int:
        status, _, _ = gw.request("GET", "/fhir/Patient?_count=1",
                                  headers={"Authorization": f"Bearer {access}"}, auth=False)
        return status

    with GatewayProcess(binary, name="district") as district:
        checks.check("district: user add wanjiru",
                     command(district, "user", "add", "wanjiru", "--role", "clinician",
                             stdin=DISTRICT_PASSWORD + "\n").returncode == 0)
        clinic = GatewayProcess(binary, name="clinic", overrides={
            "auth": {"cached_login_ttl_hours": 168},
            "upstream": {"token_url": district.url("/auth/token"), "timeout_ms": 2000}})
        with clinic:
            checks.check("clinic: user add alice (local)",
                         command(clinic, "user", "add", "alice", "--role", "clinician",
                                 stdin=LOCAL_PASSWORD + "\n").returncode == 0)

            # ---- phase 1: the upstream is up ------------------------------------------
            status, body = login(clinic, "wanjiru", DISTRICT_PASSWORD)
            checks.check("a district user logs in at the clinic", status == 200,
                         json.dumps(body)[:300])
            access = body.get("access_token", "")
            checks.check("with the clinic's own token, which opens /fhir/Patient",
                         fhir_status(clinic, access) == 200)
            checks.check("the district's API does not take the clinic's token",
                         fhir_status(district, access) == 401)
            listed = command(clinic, "user", "list").stdout
            row = next((line for line in listed.splitlines() if line.startswith("wanjiru")), "")
            checks.check("user list: wanjiru, clinician, origin upstream, a verified time",
                         re.search(r"clinician\s+no\s+upstream\s+\d{4}-\d\d-\d\dT", row) is not None,
                         listed)
            status, body = login(clinic, "wanjiru", "not the district password")
            checks.check("a wrong password is invalid_grant",
                         status == 400 and body.get("error") == "invalid_grant", json.dumps(body))
            status, body = login(clinic, "alice", LOCAL_PASSWORD)
            checks.check("the local user logs in", status == 200, json.dumps(body)[:300])

            checks.check("user disable wanjiru at the clinic",
                         command(clinic, "user", "disable", "wanjiru").returncode == 0)
            status, body = login(clinic, "wanjiru", DISTRICT_PASSWORD)
            checks.check("disabled at the clinic: refused though the upstream accepts",
                         status == 400 and body.get("error") == "invalid_grant", json.dumps(body))
            checks.check("and its earlier access token is 401", fhir_status(clinic, access) == 401)
            command(clinic, "user", "enable", "wanjiru")
            status, body = login(clinic, "wanjiru", DISTRICT_PASSWORD)
            checks.check("enabled again, it logs in", status == 200, json.dumps(body)[:300])
            checks.check("district: user passwd wanjiru",
                         command(district, "user", "passwd", "wanjiru",
                                 stdin=CHANGED_PASSWORD + "\n").returncode == 0)
            status, body = login(clinic, "wanjiru", DISTRICT_PASSWORD)
            checks.check("changed upstream: the old password is refused at the clinic",
                         status == 400 and body.get("error") == "invalid_grant", json.dumps(body))
            status, body = login(clinic, "wanjiru", CHANGED_PASSWORD)
            checks.check("and the new one works", status == 200, json.dumps(body)[:300])

            # ---- phase 2: the upstream is gone ----------------------------------------
            district.kill()
            status, body = login(clinic, "wanjiru", CHANGED_PASSWORD)
            checks.check("upstream killed: the cached verifier lets wanjiru in", status == 200,
                         json.dumps(body)[:300])
            checks.check("and the token opens /fhir/Patient",
                         fhir_status(clinic, body.get("access_token", "")) == 200)
            status, body = login(clinic, "wanjiru", DISTRICT_PASSWORD)
            checks.check("offline, the old password (dropped from the cache) fails, saying the "
                         "upstream is unreachable",
                         status == 400 and body.get("error") == "invalid_grant"
                         and "cannot be reached" in body.get("error_description", ""),
                         json.dumps(body))
            events = command(clinic, "security", "events").stdout
            checks.check("security events: an offline_login for wanjiru",
                         re.search(r"offline_login\s+wanjiru\s+127\.0\.0\.1", events) is not None,
                         events)

            # ---- phase 3: cached logins may not be used offline -------------------------
            checks.check("clinic stops", clinic.stop() == 0)
            set_config(clinic, "cached_login_ttl_hours", "0")
            clinic.start()
            status, body = login(clinic, "wanjiru", CHANGED_PASSWORD)
            checks.check("with cached_login_ttl_hours = 0 the offline login is refused",
                         status == 400 and "cannot be reached" in body.get("error_description", ""),
                         json.dumps(body))

            # ---- phase 4: a stand-in upstream that counts ------------------------------
            fake = CountingUpstream()
            try:
                checks.check("clinic stops again", clinic.stop() == 0)
                set_config(clinic, "token_url", json.dumps(fake.url()))
                clinic.start()
                status, body = login(clinic, "alice", LOCAL_PASSWORD)
                checks.check("the local user logs in", status == 200, json.dumps(body)[:300])
                status, body = login(clinic, "alice", "a wrong local password")
                checks.check("and a wrong local password fails", status == 400, json.dumps(body))
                checks.check("neither reached the upstream", fake.requests == [],
                             json.dumps(fake.requests))
                for i in range(5):
                    login(clinic, "stranger", f"guess number {i}")
                checks.check("an unknown name is asked upstream (five guesses, five requests)",
                             len(fake.requests) == 5
                             and fake.requests[0].get("grant_type") == "password"
                             and fake.requests[0].get("username") == "stranger"
                             and fake.requests[0].get("scope") == "openid",
                             json.dumps(fake.requests)[:500])
                status, body = login(clinic, "stranger", "guess number 6")
                checks.check("the sixth attempt is locked out and not sent upstream",
                             "too many failed logins" in body.get("error_description", "")
                             and len(fake.requests) == 5, json.dumps(body))
                events = command(clinic, "security", "events").stdout
                checks.check("security events: the lockout of stranger",
                             re.search(r"lockout\s+stranger\s+127\.0\.0\.1", events) is not None,
                             events)
                checks.check("the lockout is a log line",
                             "security: login locked for 'stranger' from 127.0.0.1"
                             in clinic.log_text(), clinic.log_tail())
            finally:
                fake.close()

            logs = clinic.log_text() + district.log_text()
            checks.check("no log holds a password",
                         all(p not in logs for p in (DISTRICT_PASSWORD, CHANGED_PASSWORD, LOCAL_PASSWORD,
                                                     "not the district password", "guess number")))
            checks.check("clinic stops cleanly", clinic.stop() == 0)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
