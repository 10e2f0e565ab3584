#!/usr/bin/python3
"""The gateway's token endpoint and discovery documents, against a real daemon.

    /usr/bin/python3 oauth_test.py <clinic-gateway>

A user enrolled with `clinic-gateway user add` logs in at POST /auth/token (password grant,
form body): the answer is a Bearer token with expires_in, the granted scope and (asked for
with offline_access) a refresh token; the access token is an ES256 JWT whose signature
verifies with the key at /.well-known/jwks.json (checked with the `openssl` command) and it
opens /fhir/Patient but not Observations or a delete (403: its scopes are enforced); a
tampered one is 401. A wrong password is 400 invalid_grant, a
malformed body 400 invalid_request, a wrong client secret 401 invalid_client. The refresh
token gives a new pair once; used again it is invalid_grant. A client enrolled with `client
add` gets a client_credentials token with its registered scope and no refresh token; a
client enrolled with a JWKS gets one with an ES384 client assertion signed by the openssl
command (SMART Backend Services), once: the replay and an assertion signed by another key
are invalid_client. A user disabled with `user disable` is refused at once, also with an
access token it obtained before.
/.well-known/smart-configuration names the token endpoint and the grants. POST /auth/revoke
(RFC 7009) answers 200 and a revoked access token is then 401, a revoked refresh token
invalid_grant. The signing key
file is mode 0600 in a 0700 directory, and the log holds no password or token.
"""

import base64
import json
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def es256_verifies(token: str, jwk: dict) -> bool:
    """Checks an ES256 JWS with the openssl command: the JWK's point as a PEM public key,
    the JOSE r||s signature as DER."""
    header, payload, signature = token.split(".")
    raw = b64url_decode(signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")

    def der_int(n: int) -> bytes:
        b = n.to_bytes((n.bit_length() + 8) // 8 or 1, "big")
        return b"\x02" + bytes([len(b)]) + b

    body = der_int(r) + der_int(s)
    der_sig = b"\x30" + bytes([len(body)]) + body
    point = b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])
    # SubjectPublicKeyInfo for P-256 (id-ecPublicKey, prime256v1) around the point.
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + point
    with tempfile.TemporaryDirectory() as d:
        key = Path(d) / "k.der"
        sig = Path(d) / "s.der"
        data = Path(d) / "d.txt"
        key.write_bytes(spki)
        sig.write_bytes(der_sig)
        data.write_bytes(f"{header}.{payload}".encode())
        done = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(key), "-keyform",
                               "DER", "-signature", str(sig), str(data)],
                              capture_output=True, text=True, timeout=30)
        return done.returncode == 0


def es384_client(directory: Path) -> tuple[Path, dict]:
    """A P-384 key made with the openssl command: its PEM file and its public JWK."""
    key = directory / "client.pem"
    subprocess.run(["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out",
                    str(key)], check=True, capture_output=True, timeout=30)
    der = subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True, timeout=30).stdout
    point = der[-97:]  # 0x04 || x || y at the end of the SubjectPublicKeyInfo

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return key, {"kty": "EC", "crv": "P-384", "x": b64(point[1:49]), "y": b64(point[49:]),
                 "alg": "ES384", "kid": "backend-1"}


def client_assertion(key: Path, client_id: str, audience: str, jti: str) -> str:
    """A SMART Backend Services assertion (RFC 7523) signed ES384 by the openssl command."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "ES384", "typ": "JWT", "kid": "backend-1"}).encode())
    now = int(time.time())
    payload = b64(json.dumps({"iss": client_id, "sub": client_id, "aud": audience,
                              "exp": now + 240, "jti": jti}).encode())
    signing_input = f"{header}.{payload}".encode()
    der = subprocess.run(["openssl", "dgst", "-sha384", "-sign", str(key)], input=signing_input,
                         check=True, capture_output=True, timeout=30).stdout
    # DER SEQUENCE { INTEGER r, INTEGER s } → JOSE r || s, 48 bytes each.
    pos = 2 if der[1] < 0x80 else 3
    values = []
    for _ in range(2):
        length = der[pos + 1]
        values.append(int.from_bytes(der[pos + 2:pos + 2 + length], "big"))
        pos += 2 + length
    signature = values[0].to_bytes(48, "big") + values[1].to_bytes(48, "big")
    return f"{header}.{payload}.{b64(signature)}"


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with GatewayProcess(binary, name="oauth") as gw:
        def command(*words, stdin=""):
            return subprocess.run([binary, *words, "--config", str(gw.config_path)],
                                  input=stdin, capture_output=True, text=True, timeout=120)

        def token(form: dict, headers: dict | None = None):
            h = dict(FORM)
            h.update(headers or {})
            status, _, data = gw.request("POST", "/auth/token", urllib.parse.urlencode(form), h,
                                         auth=False)
            return status, json.loads(data) if data else {}

        checks.check("user add", command("user", "add", "alice", "--role", "clinician",
                                         stdin=PASSWORD + "\n").returncode == 0)
        status, body = token({"grant_type": "password", "username": "alice", "password": PASSWORD,
                              "scope": "user/Patient.rs offline_access"})
        checks.check("a password login is 200 with a Bearer token",
                     status == 200 and body.get("token_type") == "Bearer"
                     and body.get("expires_in") == 300, json.dumps(body)[:300])
        checks.check("the granted scope and a refresh token",
                     set(body.get("scope", "").split()) == {"user/Patient.rs", "offline_access"}
                     and bool(body.get("refresh_token")), json.dumps(body)[:300])
        access = body.get("access_token", "")
        status, _, data = gw.request("GET", "/.well-known/jwks.json", auth=False)
        keys = json.loads(data).get("keys", []) if status == 200 else []
        checks.check("the JWKS is open and holds one EC P-256 key",
                     len(keys) == 1 and keys[0].get("kty") == "EC" and keys[0].get("crv") == "P-256"
                     and "d" not in keys[0], data[:300].decode(errors="replace"))
        header = json.loads(b64url_decode(access.split(".")[0])) if access.count(".") == 2 else {}
        claims = json.loads(b64url_decode(access.split(".")[1])) if access.count(".") == 2 else {}
        checks.check("the access token is an ES256 JWT for alice with the key's kid",
                     header.get("alg") == "ES256" and keys and header.get("kid") == keys[0].get("kid")
                     and claims.get("sub") == "alice", f"{header} {claims}")
        checks.check("its signature verifies with the published key (openssl)",
                     bool(keys) and es256_verifies(access, keys[0]))
        status, _, _ = gw.request("GET", "/fhir/Patient?_count=1",
                                  headers={"Authorization": f"Bearer {access}"}, auth=False)
        checks.check("the access token opens the FHIR API", status == 200, str(status))
        status, _, _ = gw.request("GET", "/fhir/Observation?_count=1",
                                  headers={"Authorization": f"Bearer {access}"}, auth=False)
        checks.check("its scopes are enforced: user/Patient.rs does not read Observations (403)",
                     status == 403, str(status))
        status, _, _ = gw.request("DELETE", "/fhir/Patient/x",
                                  headers={"Authorization": f"Bearer {access}"}, auth=False)
        checks.check("nor delete Patients (403)", status == 403, str(status))
        tampered = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
        status, _, _ = gw.request("GET", "/fhir/Patient",
                                  headers={"Authorization": f"Bearer {tampered}"}, auth=False)
        checks.check("a tampered token is 401", status == 401, str(status))

        status, err = token({"grant_type": "password", "username": "alice", "password": "nope-nope-nope"})
        checks.check("a wrong password is 400 invalid_grant",
                     status == 400 and err.get("error") == "invalid_grant", json.dumps(err))
        status, err = token({"grant_type": "password", "username": "alice"})
        checks.check("a missing password is 400 invalid_request",
                     status == 400 and err.get("error") == "invalid_request", json.dumps(err))

        refresh = body.get("refresh_token", "")
        status, renewed = token({"grant_type": "refresh_token", "refresh_token": refresh})
        checks.check("the refresh token gives a new pair",
                     status == 200 and renewed.get("refresh_token") not in ("", None, refresh),
                     json.dumps(renewed)[:300])
        status, again = token({"grant_type": "refresh_token", "refresh_token": refresh})
        checks.check("a used refresh token is invalid_grant",
                     status == 400 and again.get("error") == "invalid_grant", json.dumps(again))

        added = command("client", "add", "lab", "--role", "device", "--scope",
                        "system/Observation.cruds")
        fields = dict(line.split(":", 1) for line in added.stdout.splitlines() if ":" in line)
        client_id = fields.get("client_id", "").strip()
        secret = fields.get("client_secret", "").strip()
        checks.check("client add prints an id and a secret", bool(client_id and secret), added.stdout)
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        status, cc = token({"grant_type": "client_credentials"}, {"Authorization": f"Basic {basic}"})
        checks.check("client_credentials with HTTP Basic: the registered scope, no refresh token",
                     status == 200 and cc.get("scope") == "system/Observation.cruds"
                     and "refresh_token" not in cc, json.dumps(cc)[:300])
        device = cc.get("access_token", "")
        status, _, _ = gw.request("GET", "/fhir/Observation?_count=1",
                                  headers={"Authorization": f"Bearer {device}"}, auth=False)
        checks.check("the client's token searches Observations", status == 200, str(status))
        status, _, _ = gw.request("GET", "/fhir/Patient?_count=1",
                                  headers={"Authorization": f"Bearer {device}"}, auth=False)
        checks.check("but not Patients (403)", status == 403, str(status))
        wrong = base64.b64encode(f"{client_id}:wrong".encode()).decode()
        status, err = token({"grant_type": "client_credentials"}, {"Authorization": f"Basic {wrong}"})
        checks.check("a wrong client secret is 401 invalid_client",
                     status == 401 and err.get("error") == "invalid_client", json.dumps(err))

        for where in ("/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"):
            status, _, data = gw.request("GET", where, auth=False)
            smart = json.loads(data) if status == 200 else {}
            checks.check(f"{where} names the token endpoint (absolute) and the grants",
                         smart.get("token_endpoint") == gw.url("/auth/token")
                         and "client_credentials" in smart.get("grant_types_supported", []),
                         data[:300].decode(errors="replace"))

        # RFC 7009: revoke the client's access token, and a fresh refresh token.
        def revoke(value: str) -> int:
            status, _, _ = gw.request("POST", "/auth/revoke",
                                      urllib.parse.urlencode({"token": value}), FORM, auth=False)
            return status

        checks.check("revocation answers 200, also for an unknown token",
                     revoke(device) == 200 and revoke("not-a-token") == 200)
        status, _, _ = gw.request("GET", "/fhir/Observation?_count=1",
                                  headers={"Authorization": f"Bearer {device}"}, auth=False)
        checks.check("a revoked access token is 401", status == 401, str(status))
        newest = renewed.get("refresh_token", "")
        checks.check("revoking a refresh token is 200", revoke(newest) == 200)
        status, err = token({"grant_type": "refresh_token", "refresh_token": newest})
        checks.check("a revoked refresh token is invalid_grant",
                     status == 400 and err.get("error") == "invalid_grant", json.dumps(err))

        # SMART Backend Services: a client registered with a JWKS proves itself with a
        # signed assertion (private_key_jwt), once.
        client_key, jwk = es384_client(gw.dir)
        jwks_file = gw.dir / "backend.jwks"
        jwks_file.write_text(json.dumps({"keys": [jwk]}))
        added = command("client", "add", "backend", "--role", "device", "--scope",
                        "system/Patient.rs", "--jwks", str(jwks_file))
        fields = dict(line.split(":", 1) for line in added.stdout.splitlines() if ":" in line)
        backend_id = fields.get("client_id", "").strip()
        checks.check("a JWKS client is enrolled without a secret",
                     bool(backend_id) and "client_secret" not in fields, added.stdout + added.stderr)
        audience = gw.url("/auth/token")
        assertion = client_assertion(client_key, backend_id, audience, "jti-1")
        form = {"grant_type": "client_credentials", "scope": "system/Patient.rs",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion}
        status, bs = token(form)
        checks.check("a signed client assertion (ES384) gets a token with the client's scope",
                     status == 200 and bs.get("scope") == "system/Patient.rs", json.dumps(bs)[:300])
        status, replay = token(form)
        checks.check("the same assertion again is 401 invalid_client (no replay)",
                     status == 401 and replay.get("error") == "invalid_client", json.dumps(replay))
        forged = client_assertion(es384_client(Path(tempfile.mkdtemp()))[0], backend_id, audience,
                                  "jti-2")
        status, bad = token(dict(form, client_assertion=forged))
        checks.check("an assertion signed by another key is 401 invalid_client",
                     status == 401 and bad.get("error") == "invalid_client", json.dumps(bad))

        # A patient reads their own record, and nothing else: patient/ scopes confined to
        # the compartment of the token's patient.
        for pid in ("p-own", "p-other"):
            gw.request("PUT", f"/fhir/Patient/{pid}",
                       json.dumps({"resourceType": "Patient", "id": pid}), FHIR_JSON)
            gw.request("PUT", f"/fhir/Observation/obs-{pid}",
                       json.dumps({"resourceType": "Observation", "id": f"obs-{pid}",
                                   "status": "final", "code": {"text": "weight"},
                                   "subject": {"reference": f"Patient/{pid}"}}), FHIR_JSON)
        checks.check("user add --role patient --fhir-user",
                     command("user", "add", "wanjiru", "--role", "patient", "--fhir-user",
                             "Patient/p-own", stdin=PASSWORD + "\n").returncode == 0)
        status, pt = token({"grant_type": "password", "username": "wanjiru", "password": PASSWORD})
        checks.check("a patient's token: patient/*.rs and the patient context",
                     status == 200 and "patient/*.rs" in pt.get("scope", "").split()
                     and pt.get("patient") == "p-own", json.dumps(pt)[:300])
        as_patient = {"Authorization": f"Bearer {pt.get('access_token', '')}"}

        def ids_of(path: str) -> list:
            status, _, data = gw.request("GET", path, headers=as_patient, auth=False)
            if status != 200:
                return [status]
            return sorted(e["resource"]["id"] for e in json.loads(data).get("entry", []))

        checks.check("a patient's Patient search finds only themselves",
                     ids_of("/fhir/Patient") == ["p-own"], str(ids_of("/fhir/Patient")))
        checks.check("and only their own Observations",
                     ids_of("/fhir/Observation") == ["obs-p-own"], str(ids_of("/fhir/Observation")))
        status, _, _ = gw.request("GET", "/fhir/Observation/obs-p-other", headers=as_patient,
                                  auth=False)
        checks.check("another patient's Observation is 404 to them", status == 404, str(status))
        status, _, _ = gw.request("GET", "/fhir/Patient/p-own/$everything", headers=as_patient,
                                  auth=False)
        checks.check("their own $everything is 200", status == 200, str(status))
        status, _, _ = gw.request("GET", "/fhir/Patient/p-other/$everything", headers=as_patient,
                                  auth=False)
        checks.check("another's $everything is 403", status == 403, str(status))
        status, _, _ = gw.request("POST", "/fhir/Observation",
                                  json.dumps({"resourceType": "Observation", "status": "final",
                                              "code": {"text": "x"},
                                              "subject": {"reference": "Patient/p-own"}}),
                                  dict(FHIR_JSON, **as_patient), auth=False)
        checks.check("and writing is 403 (patient/*.rs reads only)", status == 403, str(status))

        # Disabling a user takes effect at once, also on the tokens it already holds.
        status, fresh = token({"grant_type": "password", "username": "alice", "password": PASSWORD,
                               "scope": "user/Patient.rs offline_access"})
        held = fresh.get("access_token", "")
        held_refresh = fresh.get("refresh_token", "")
        checks.check("a fresh login holds a refresh token", bool(held_refresh), json.dumps(fresh)[:200])
        checks.check("user disable", command("user", "disable", "alice").returncode == 0)
        status, _, _ = gw.request("GET", "/fhir/Patient?_count=1",
                                  headers={"Authorization": f"Bearer {held}"}, auth=False)
        checks.check("a disabled user's unexpired access token is 401", status == 401, str(status))
        status, err = token({"grant_type": "refresh_token", "refresh_token": held_refresh})
        checks.check("a disabled user's unspent refresh token is invalid_grant",
                     status == 400 and err.get("error") == "invalid_grant", json.dumps(err))
        status, err = token({"grant_type": "password", "username": "alice", "password": PASSWORD})
        checks.check("and their password login is invalid_grant",
                     status == 400 and err.get("error") == "invalid_grant", json.dumps(err))

        key_file = gw.data_dir / "keys" / "token-signing-key.pem"
        checks.check("the signing key is 0600 in a 0700 directory",
                     key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
                     and stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700)
        log = gw.log_text()
        checks.check("the log holds no password, secret or token",
                     all(s not in log for s in (PASSWORD, secret or "-", access[-20:] or "-", refresh or "-")))
        checks.check("SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
