#!/usr/bin/python3
"""HTTPS with client certificates on the real daemon, driven by curl, `openssl s_client` and
Python's ssl module.

    /usr/bin/python3 http_tls_test.py <clinic-gateway>

A throwaway PKI is made with the `openssl` command in a temp dir: a CA for the gateway's
certificate (SAN 127.0.0.1), a devices CA that issues a tablet's certificate (it goes into
http.tls.client_ca), and another CA that issues a stranger's. Then:
- curl with the tablet's certificate reads /fhir/Patient; curl with no certificate and with
  the stranger's gets nothing (the handshake is refused and counted);
- `openssl s_client -tls1_1` and a TLS 1.2 client offering only CBC (non-AEAD) suites are
  refused; TLS 1.2 with AES-GCM and TLS 1.3 work;
- after the certificate is renewed in place and the daemon gets SIGHUP, new connections are
  served the new certificate, while a keep-alive connection opened before the reload goes
  on answering on the same socket.
"""

import hashlib
import http.client
import os
import signal
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

TIMEOUT_S = 60


class Pki:
    """CAs and certificates made with the openssl command in `directory`."""

    def __init__(self, directory: Path):
        self.dir = directory

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, capture_output=True,
                       timeout=TIMEOUT_S)

    def ca(self, name: str, subject: str) -> None:
        self._openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", subject,
                      "-keyout", f"{name}.key", "-out", f"{name}.crt",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, name: str, subject: str, issuer: str, extensions: str = "") -> None:
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                      "-nodes", "-subj", subject, "-keyout", f"{name}.key", "-out", f"{name}.csr")
        args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.crt", "-CAkey",
                f"{issuer}.key", "-days", "30", "-out", f"{name}.crt"]
        if extensions:
            (self.dir / f"{name}.ext").write_text(extensions + "\n")
            args += ["-extfile", f"{name}.ext"]
        self._openssl(*args)

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def der_sha256(self, name: str) -> str:
        der = ssl.PEM_cert_to_DER_cert((self.dir / f"{name}.crt").read_text())
        return hashlib.sha256(der).hexdigest()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="cg-tls-pki-") as tmp:
        pki = Pki(Path(tmp))
        pki.ca("server-ca", "/CN=Test gateway CA")
        server_san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
        pki.issue("gateway", "/O=Clinic/CN=gateway", "server-ca", server_san)
        pki.ca("devices-ca", "/CN=Clinic devices CA")
        pki.issue("tablet", "/O=Clinic/CN=tablet-3", "devices-ca")
        pki.ca("other-ca", "/CN=Someone else's CA")
        pki.issue("stranger", "/O=Clinic/CN=tablet-3", "other-ca")

        # log.level debug: refused handshakes are logged at debug level on the HTTP port.
        overrides = {"log": {"level": "debug"},
                     "http.tls": {"certificate": pki.path("gateway.crt"),
                                  "private_key": pki.path("gateway.key"),
                                  "client_ca": pki.path("devices-ca.crt")}}
        with GatewayProcess(binary, overrides, name="http-tls") as gw:
            checks.check("the daemon serves HTTPS and says client certificates are required",
                         gw.scheme == "https"
                         and "(client certificates required)" in gw.log_text(), gw.log_tail())
            url = gw.url("/fhir/Patient")

            def curl(*client_args: str) -> tuple[int, str]:
                done = subprocess.run(
                    ["curl", "-sS", "--max-time", "30", "--cacert", pki.path("server-ca.crt"),
                     "-H", f"Authorization: Bearer {gw.token}", "-o", "/dev/null",
                     "-w", "%{http_code}", *client_args, url],
                    capture_output=True, text=True, timeout=TIMEOUT_S)
                return done.returncode, done.stdout + done.stderr

            rc, out = curl("--cert", pki.path("tablet.crt"), "--key", pki.path("tablet.key"))
            checks.check("curl with the tablet's certificate gets 200", rc == 0 and out == "200",
                         f"rc={rc} {out}")
            rc, out = curl()
            checks.check("curl without a client certificate is refused",
                         rc != 0 and not out.startswith("200"), f"rc={rc} {out}")
            rc, out = curl("--cert", pki.path("stranger.crt"), "--key", pki.path("stranger.key"))
            checks.check("curl with a certificate from another CA is refused",
                         rc != 0 and not out.startswith("200"), f"rc={rc} {out}")
            checks.check("the refusals are logged (debug) as handshake failures",
                         gw.wait_for_log(r"TLS handshake with 127\.0\.0\.1 failed", 0, 30))

            def s_client(*args: str) -> tuple[int, str]:
                done = subprocess.run(
                    ["openssl", "s_client", "-connect", f"127.0.0.1:{gw.port}",
                     "-CAfile", pki.path("server-ca.crt"), "-cert", pki.path("tablet.crt"),
                     "-key", pki.path("tablet.key"), "-verify_return_error", *args],
                    input="", capture_output=True, text=True, timeout=TIMEOUT_S)
                return done.returncode, done.stdout + done.stderr

            rc, out = s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
            checks.check("s_client: TLS 1.2 with AES-GCM works",
                         rc == 0 and "Protocol  : TLSv1.2" in out, out[-600:])
            rc, out = s_client("-tls1_3")
            checks.check("s_client: TLS 1.3 works", rc == 0 and "TLSv1.3" in out, out[-600:])
            # The client's own OpenSSL needs security level 0 to offer TLS 1.1 at all.
            rc, out = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
            checks.check("s_client -tls1_1 is refused by the server",
                         rc != 0 and "protocol version" in out, out[-600:])
            rc, out = s_client("-tls1_2", "-cipher",
                               "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:AES128-SHA")
            checks.check("s_client offering only CBC (non-AEAD) suites is refused",
                         rc != 0 and "handshake failure" in out, out[-600:])

            context = ssl.create_default_context(cafile=pki.path("server-ca.crt"))
            context.load_cert_chain(pki.path("tablet.crt"), pki.path("tablet.key"))
            kept = http.client.HTTPSConnection("127.0.0.1", gw.port, context=context,
                                               timeout=TIMEOUT_S)
            kept.request("GET", "/health")
            first = kept.getresponse()
            first.read()
            socket_before = kept.sock
            old_fingerprint = hashlib.sha256(kept.sock.getpeercert(binary_form=True)).hexdigest()
            checks.check("a keep-alive connection gets the first certificate",
                         first.status == 200 and old_fingerprint == pki.der_sha256("gateway"))

            pki.issue("gateway", "/O=Clinic/CN=gateway renewed", "server-ca", server_san)
            before = gw.log_line_count()
            os.kill(gw.proc.pid, signal.SIGHUP)
            checks.check("SIGHUP reloads the certificate",
                         gw.wait_for_log(r"TLS certificate reloaded", before, TIMEOUT_S)
                         and gw.wait_for_log(r"reloaded configuration", before, TIMEOUT_S),
                         gw.log_tail())
            fresh = ssl.create_connection(("127.0.0.1", gw.port), timeout=TIMEOUT_S)
            with context.wrap_socket(fresh, server_hostname="127.0.0.1") as tls:
                new_fingerprint = hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
            checks.check("a new connection is served the renewed certificate",
                         new_fingerprint == pki.der_sha256("gateway")
                         and new_fingerprint != old_fingerprint)
            kept.request("GET", "/health")
            second = kept.getresponse()
            second.read()
            checks.check("the connection opened before the reload still answers, same socket",
                         second.status == 200 and kept.sock is socket_before)
            kept.close()
            checks.check("the daemon stops cleanly", gw.stop() == 0)
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
