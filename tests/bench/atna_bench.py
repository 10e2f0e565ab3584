#!/usr/bin/python3
"""ATNA audit intake (issue 6): the gateway's syslog receivers against Debian rsyslog, in one run.

  stream  : the IPF DICOM audit samples (../shared/data/atna/ipf), round robin, each message
            made unique (its EventDateTime gets a timestamp of its own, one millisecond apart)
            and wrapped in an RFC 5424 header (<85>1 … ATNA - IHE+DICOM -). The bytes of a
            run are built before the clock starts, so the sender is not what is measured.
  tls     : N messages, octet-counted (RFC 5425), over ONE TLS connection, sent with one
            sendall of the whole buffer. Timed from the first byte to the moment all N are
            persisted: for the gateway, committed in audit.db (polled read-only; a record
            counts once its group commit, WAL with synchronous=FULL, returned: durable);
            for rsyslog (imtcp, StreamDriver ossl, anon auth), written by omfile: one line per
            message (rsyslog escapes the LFs of the XML as #012; checked at the end). That
            is the page cache, not the disk: rsyslog's figure is not durable. A second
            rsyslog action with omfile sync="on" (fsync after every batch) is measured too,
            the fairer comparison with the gateway.
  udp     : a paced R messages/s for D seconds (RFC 5426, one datagram each) to the gateway's
            UDP port and to rsyslog's imudp; reported: persisted (gateway) or written
            (rsyslog) against sent, i.e. the loss, and the kernel's receive-buffer drops.
  rounds  : gateway and rsyslog alternately (order reversed every round), both running all
            along on this machine, medians reported. Per run, from /proc: CPU time of the
            receiver, and for the gateway the busiest threads (which one is saturated).
  checks  : after the rounds, audit.db holds exactly the TLS messages sent and every UDP
            record counted, none flagged unreadable; each rsyslog file holds one complete
            audit message per line. Failing a check is an error.

Builds nothing. --gateway BIN (else $CG_GATEWAY, else build/release/gateway/clinic-gateway).
Exit status non-zero only when something errored (a process dying, a TLS stream not persisted
in time, a failed check), never because a target was missed. Exit 77 (skip) when the samples,
rsyslogd or its openssl driver (rsyslog-openssl) are missing.

Usage: /usr/bin/python3 tests/bench/atna_bench.py [--gateway BIN] [--smoke] [--messages N]
           [--udp-rate R] [--udp-seconds D] [--rounds K] [--json FILE] [--keep]
"""

import argparse
import atexit
import datetime
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_bench as rb  # noqa: E402  (gateway start/stop, process helpers)

SKIP = 77
TARGET_TLS_RATE = 20_000   # audits/s persisted over one TLS connection, issue 6
TARGET_UDP_RATE = 10_000   # audits/s over UDP with no loss, issue 6
RSYSLOG_OSSL = Path("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so")
ATNA_RECEIVER = re.compile(r"(udp|tcp|tls) [0-9a-fA-F.:]+:(\d+)")
END_TAG = b"</AuditMessage>"


# ---------------------------------------------------------------- the stream

class Stream:
    """The samples as templates: the one EventDateTime of each becomes a placeholder that
    every message fills with a time of its own (unique per message across the whole run)."""

    def __init__(self, files):
        self.templates = []
        for f in files:
            text = f.read_text(encoding="utf-8").rstrip("\n")
            parts = re.split(r'EventDateTime="[^"]*"', text, maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"{f.name}: no EventDateTime attribute")
            self.templates.append((parts[0].encode() + b'EventDateTime="', b'"' + parts[1].encode()))
        self.base = datetime.datetime(2026, 11, 21, tzinfo=datetime.timezone.utc)
        self.next_seq = 0
        self.header = b"<85>1 2026-11-21T08:00:00.000Z bench-sender ATNA - IHE+DICOM - "

    def messages(self, n):
        """n new messages (syslog header + audit XML), each unique."""
        out = []
        for i in range(n):
            seq = self.next_seq + i
            head, tail = self.templates[seq % len(self.templates)]
            when = self.base + datetime.timedelta(milliseconds=seq)
            stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
            out.append(self.header + head + stamp.encode() + tail)
        self.next_seq += n
        return out


def octet_counted(messages):
    """RFC 5425 / RFC 6587 octet counting: 'LEN SP MSG', back to back."""
    return b"".join(str(len(m)).encode() + b" " + m for m in messages)


# ---------------------------------------------------------------- what got persisted

class AuditDbCounter:
    """Records of one transport committed in audit.db, read-only (WAL: readers see each
    commit as it returns). audit_records has no index on transport, so polling uses the
    rowid (cheap) and counts exactly only once the rowid says all may be there."""

    def __init__(self, db_path, transport):
        self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10,
                                  check_same_thread=False)
        self.transport = transport
        self.base_id = self.max_id()

    def max_id(self):
        return self.db.execute("SELECT coalesce(max(id), 0) FROM audit_records").fetchone()[0]

    def rebase(self):
        self.base_id = self.max_id()

    def count(self):
        """Exact: this transport's records since the last rebase."""
        return self.db.execute("SELECT count(*) FROM audit_records WHERE id > ? AND transport = ?",
                               (self.base_id, self.transport)).fetchone()[0]

    def poll(self, expected):
        """A lower bound that is exact once it reaches `expected` (the gateway's own audit
        records, rare here, take rowids too)."""
        if self.max_id() - self.base_id < expected:
            return min(self.max_id() - self.base_id, expected - 1)
        return self.count()

    def close(self):
        self.db.close()


class LineCounter:
    """Complete lines in a file rsyslog appends to, read incrementally (each byte once)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.lines = 0
        self.base = 0

    def rebase(self):
        self.base = self.total()

    def total(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        self.offset += len(chunk)
        self.lines += chunk.count(b"\n")
        return self.lines

    def count(self):
        return self.total() - self.base

    def poll(self, _expected):
        return self.count()

    def close(self):
        pass


def wait_for(counter, expected, timeout, interval=0.005):
    """Polls until `expected` are there or `timeout` s pass: (count, monotonic time seen)."""
    deadline = time.monotonic() + timeout
    seen = counter.poll(expected)
    while seen < expected and time.monotonic() < deadline:
        time.sleep(interval)
        seen = counter.poll(expected)
    return seen, time.monotonic()


def wait_settled(counter, expected, timeout, quiet=3.0):
    """UDP: polls until `expected` arrived, or nothing new for `quiet` s, or `timeout`."""
    deadline = time.monotonic() + timeout
    seen, last_change = counter.count(), time.monotonic()
    while seen < expected and time.monotonic() < deadline:
        time.sleep(0.02)
        now = counter.count()
        if now != seen:
            seen, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            break
    return seen, last_change


# ---------------------------------------------------------------- /proc

def thread_cpu(pid):
    """tid → utime+stime ticks of every thread of a process."""
    out = {}
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                f = (task / "stat").read_text().rsplit(")", 1)[1].split()
                out[int(task.name)] = int(f[11]) + int(f[12])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        pass
    return out


def udp_rcvbuf_errors():
    """The kernel's UDP receive-buffer drops, machine-wide (/proc/net/snmp)."""
    try:
        lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines() if ln.startswith("Udp:")]
        return int(lines[1][lines[0].index("RcvbufErrors")])
    except (OSError, ValueError, IndexError):
        return None


def median(values):
    vals = sorted(v for v in values if v is not None)
    return vals[len(vals) // 2] if vals else None


# ---------------------------------------------------------------- rsyslog

def rsyslog_missing():
    if not shutil.which("rsyslogd"):
        return "rsyslogd is not installed (apt-get install rsyslog rsyslog-openssl)"
    if not RSYSLOG_OSSL.exists():
        return f"{RSYSLOG_OSSL} is absent (apt-get install rsyslog-openssl)"
    return ""


class Rsyslog:
    """rsyslogd in the foreground with its own config: two imtcp inputs over TLS (ossl, anon)
    writing to a file each, one plain, one with sync="on", and imudp writing to a third."""

    def __init__(self, directory, cert, key):
        self.dir = directory
        directory.mkdir()
        (directory / "work").mkdir()
        self.ports = {"tls": rb.free_port(), "tls_sync": rb.free_port(), "udp": rb.free_port()}
        self.files = {k: directory / f"{k}.log" for k in self.ports}
        out = 'template="RSYSLOG_SyslogProtocol23Format"'
        (directory / "rsyslog.conf").write_text(f'''
global(workDirectory="{directory / 'work'}" maxMessageSize="64k"
       defaultNetstreamDriverCAFile="{cert}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
module(load="imudp")
ruleset(name="tls") {{ action(type="omfile" file="{self.files['tls']}" {out}) }}
ruleset(name="tls_sync") {{ action(type="omfile" file="{self.files['tls_sync']}" sync="on" {out}) }}
ruleset(name="udp") {{ action(type="omfile" file="{self.files['udp']}" {out}) }}
input(type="imtcp" address="127.0.0.1" port="{self.ports['tls']}" ruleset="tls")
input(type="imtcp" address="127.0.0.1" port="{self.ports['tls_sync']}" ruleset="tls_sync")
input(type="imudp" address="127.0.0.1" port="{self.ports['udp']}" ruleset="udp" rcvbufSize="4m")
''')
        self.log = open(directory / "rsyslogd.log", "w")
        self.proc = rb.start(["rsyslogd", "-n", "-iNONE", "-f", str(directory / "rsyslog.conf")],
                             stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                             cwd=directory)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        for port in (self.ports["tls"], self.ports["tls_sync"]):
            while True:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    return False
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
        return True

    def output(self):
        return (self.dir / "rsyslogd.log").read_text(errors="replace")[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


# ---------------------------------------------------------------- the benchmark

def make_certificate(directory):
    cert, key = directory / "receiver.crt", directory / "receiver.key"
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


class AtnaBench(rb.Bench):
    def __init__(self, args, files):
        super().__init__(args)
        self.stream = Stream(files)
        self.cert, self.key = make_certificate(self.work)
        self.rs = None
        self.ports = {}
        self.counters = {}
        self.sent = {"tls": 0, "udp": 0}          # to the gateway
        self.udp_persisted = 0                    # UDP records the gateway stored in the runs
        self.udp_sent = 0
        self.rs_sent = {"tls": 0, "tls_sync": 0, "udp": 0}
        self.rs_written = {"udp": 0}

    def extra_config(self):
        return (f'[atna]\nenabled = true\naddress = "127.0.0.1"\nudp_port = 0\ntcp = false\n'
                f'tls_port = 0\n[atna.tls]\ncertificate = "{self.cert}"\nprivate_key = "{self.key}"\n')

    # ---------------------------------------------------------------- processes
    def start_receivers(self):
        self.start_gateway()
        log_text = (self.work / f"gateway-{self.gw_starts}" / "stderr.log").read_text()
        m = re.search(r"ATNA syslog listening on (.*)", log_text)
        self.ports = {t: int(p) for t, p in ATNA_RECEIVER.findall(m.group(1))} if m else {}
        if sorted(self.ports) != ["tls", "udp"]:
            raise RuntimeError(f"the gateway did not log its udp and tls receivers: {self.ports}")
        db = self.work / f"gateway-{self.gw_starts}" / "data" / "audit.db"
        rb.log(f"gateway ATNA receivers: {self.ports}; audit.db {db}")
        self.rs = Rsyslog(self.work / "rsyslog", self.cert, self.key)
        if not self.rs.wait_ready():
            raise RuntimeError("rsyslogd did not start: " + self.rs.output())
        rb.log(f"rsyslogd pid {self.rs.pid}: {self.rs.ports}")
        self.counters = {"gw_tls": AuditDbCounter(db, "tls"), "gw_udp": AuditDbCounter(db, "udp")}
        for k, path in self.rs.files.items():
            self.counters[f"rs_{k}"] = LineCounter(path)

    def target(self, run):
        """(pid, address of the port, counter) of one run's receiver."""
        if run.startswith("gw_"):
            return self.gw.pid, ("127.0.0.1", self.ports[run[3:]]), self.counters[run]
        return self.rs.pid, ("127.0.0.1", self.rs.ports[run[3:]]), self.counters[run]

    def alive(self):
        ok = self.gw_alive()
        if self.rs.proc.poll() is not None:
            self.errors.append(f"rsyslogd exited with {self.rs.proc.returncode}: {self.rs.output()}")
            ok = False
        return ok

    # ---------------------------------------------------------------- TLS
    def tls_run(self, run, payload, n):
        pid, addr, counter = self.target(run)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.cert)
        sock = ctx.wrap_socket(socket.create_connection(addr, timeout=30), server_hostname="localhost")
        sock.settimeout(None)
        counter.rebase()
        cpu0, thr0 = rb.proc_cpu_s(pid), thread_cpu(pid)
        sent_at = {}

        def send():
            try:
                sock.sendall(payload)
                sent_at["t"] = time.monotonic()
            except OSError as e:
                sent_at["error"] = e

        t0 = time.monotonic()
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        seen, t1 = wait_for(counter, n, timeout=max(60.0, n / 500))
        cpu1, thr1 = rb.proc_cpu_s(pid), thread_cpu(pid)
        sender.join(30)
        sock.close()
        secs = t1 - t0
        res = {"n": n, "persisted": seen, "seconds": secs, "rate": seen / secs if secs > 0 else None,
               "send_seconds": sent_at["t"] - t0 if "t" in sent_at else None,
               "cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0}
        if res["cpu_s"] is not None and seen:
            res["cpu_us_per_msg"] = res["cpu_s"] / seen * 1e6
        tick = os.sysconf("SC_CLK_TCK")
        busiest = sorted(((thr1[t] - thr0.get(t, 0)) / tick / secs, t) for t in thr1)[::-1][:4]
        res["threads"] = [{"tid": t, "cpu": round(u, 3)} for u, t in busiest if u > 0.005]
        if "error" in sent_at:
            self.errors.append(f"{run}: sending failed: {sent_at['error']}")
        if seen < n:
            self.errors.append(f"{run}: {seen} of {n} messages persisted after {secs:.1f} s")
        threads = ", ".join(f"{x['tid']} {x['cpu'] * 100:.0f}%" for x in res["threads"])
        rb.log(f"  {run:<12} {n:>7} msgs in {secs:6.2f} s = {res['rate'] or 0:>8,.0f}/s; "
               f"sender done at {res['send_seconds'] or 0:.2f} s; CPU {res['cpu_s'] or 0:.2f} s "
               f"({res.get('cpu_us_per_msg', 0):.0f} µs/msg); threads: {threads}")
        return res

    # ---------------------------------------------------------------- UDP
    def udp_run(self, run, datagrams):
        pid, addr, counter = self.target(run)
        counter.rebase()
        rate, n = self.a.udp_rate, len(datagrams)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        drops0, cpu0 = udp_rcvbuf_errors(), rb.proc_cpu_s(pid)
        t0 = time.monotonic()
        i = 0
        while i < n:  # paced: every message leaves at its own 1/rate slot, in ~1 ms steps
            due = min(n, int((time.monotonic() - t0) * rate) + 1)
            while i < due:
                sock.sendto(datagrams[i], addr)
                i += 1
            if i < n:
                time.sleep(0.0005)
        t_sent = time.monotonic()
        sock.close()
        seen, t_last = wait_settled(counter, n, timeout=60)
        drops1, cpu1 = udp_rcvbuf_errors(), rb.proc_cpu_s(pid)
        res = {"sent": n, "received": seen, "lost": n - seen, "send_seconds": t_sent - t0,
               "sent_rate": n / (t_sent - t0), "lag_s": max(0.0, t_last - t_sent),
               "kernel_drops": None if drops0 is None or drops1 is None else drops1 - drops0,
               "cpu_s": None if cpu0 is None or cpu1 is None else cpu1 - cpu0}
        rb.log(f"  {run:<12} sent {n} at {res['sent_rate']:,.0f}/s, stored {seen} (lost {n - seen}, "
               f"kernel buffer drops {res['kernel_drops']}), last one {res['lag_s']:.2f} s after the "
               f"last send; CPU {res['cpu_s'] or 0:.2f} s")
        if seen == 0:
            self.errors.append(f"{run}: no UDP message arrived")
        return res

    # ---------------------------------------------------------------- rounds
    def warm_up(self):
        """One message down every path, so that every receiver, file and table exists."""
        for run in ("gw_tls", "rs_tls", "rs_tls_sync"):
            self.tls_run(run, octet_counted(self.stream.messages(1)), 1)
        for run in ("gw_udp", "rs_udp"):
            _, addr, counter = self.target(run)
            counter.rebase()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(self.stream.messages(1)[0], addr)
            if wait_for(counter, 1, 30)[0] < 1:
                raise RuntimeError(f"{run}: the warm-up datagram was not stored")
        self.sent["tls"] += 1
        self.udp_persisted += 1
        self.udp_sent += 1
        self.rs_sent = {k: v + 1 for k, v in self.rs_sent.items()}
        self.rs_written["udp"] += 1

    def one_round(self, r):
        n = self.a.messages
        rb.log(f"\n[round {r + 1}/{self.a.rounds}] building {n} TLS messages and "
               f"{self.a.udp_rate * self.a.udp_seconds:.0f} datagrams")
        payload = octet_counted(self.stream.messages(n))
        datagrams = self.stream.messages(int(self.a.udp_rate * self.a.udp_seconds))
        runs = ["gw_tls", "rs_tls"] + (["rs_tls_sync"] if self.a.sync else []) + ["gw_udp", "rs_udp"]
        if r % 2:
            runs.reverse()
        out = {}
        for run in runs:
            if run.endswith("udp"):
                out[run] = self.udp_run(run, datagrams)
            else:
                out[run] = self.tls_run(run, payload, n)
            if not self.alive():
                raise RuntimeError("a receiver died")
        self.sent["tls"] += n
        self.udp_persisted += out["gw_udp"]["received"]
        self.udp_sent += out["gw_udp"]["sent"]
        for k in ("tls", "tls_sync"):
            self.rs_sent[k] += n if f"rs_{k}" in out else 0
        self.rs_written["udp"] += out["rs_udp"]["received"]
        self.rs_sent["udp"] += out["rs_udp"]["sent"]
        return out

    def medians(self, rounds):
        med = {}
        for run in rounds[0]:
            rows = [r[run] for r in rounds]
            keys = ("rate", "seconds", "send_seconds", "cpu_s", "cpu_us_per_msg") if "tls" in run \
                else ("received", "lost", "sent", "sent_rate", "lag_s", "kernel_drops", "cpu_s")
            med[run] = {k: median(x.get(k) for x in rows) for k in keys}
            for k in keys:
                med[run][k + "_all"] = [x.get(k) for x in rows]
        return med

    # ---------------------------------------------------------------- checks
    def check_audit_db(self):
        db = self.work / f"gateway-{self.gw_starts}" / "data" / "audit.db"
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            rows = dict(conn.execute("SELECT transport, count(*) FROM audit_records"
                                     " WHERE transport IN ('tls', 'udp') GROUP BY transport").fetchall())
            flagged = conn.execute("SELECT count(*) FROM audit_records WHERE problem IS NOT NULL").fetchone()[0]
        # UDP records stored after a run stopped waiting (3 s without a new one) count as lost
        # in that run's figure but are no error; more than were sent would be.
        udp = rows.get("udp", 0)
        ok = rows.get("tls", 0) == self.sent["tls"] and self.udp_persisted <= udp <= self.udp_sent \
            and not flagged
        rb.log(f"[check] audit.db: {rows.get('tls', 0)} TLS records for {self.sent['tls']} sent, "
               f"{udp} UDP records for {self.udp_persisted} counted in the runs "
               f"({udp - self.udp_persisted} stored late) and {self.udp_sent} sent, {flagged} flagged "
               + ("OK" if ok else "MISMATCH"))
        if not ok:
            self.errors.append(f"audit.db: {rows} for {self.sent['tls']} TLS sent and "
                               f"{self.udp_persisted} UDP counted; {flagged} flagged unreadable")

    def check_rsyslog_files(self):
        """Every line one whole audit message (rsyslog escaped the XML's line feeds)."""
        for k, path in self.rs.files.items():
            # UDP: at least what the runs counted, at most what was sent (late lines are no error).
            low = self.rs_written[k] if k == "udp" else self.rs_sent[k]
            high = self.rs_sent[k]
            lines = whole = 0
            with open(path, "rb") as f:
                for line in f:
                    lines += 1
                    whole += line.count(END_TAG) == 1 and line.endswith(END_TAG + b"\n")
            ok = lines == whole and low <= lines <= high
            expected = f"{low}" if low == high else f"{low} to {high}"
            rb.log(f"[check] rsyslog {k}.log: {lines} lines, {whole} with exactly one whole audit "
                   f"message, {expected} expected " + ("OK" if ok else "MISMATCH"))
            if not ok:
                self.errors.append(f"rsyslog {k}.log: {lines} lines, {whole} whole messages, {expected} expected")

    # ---------------------------------------------------------------- report
    def report(self, med):
        def f(v, nd=0):
            return "-" if v is None else f"{v:,.{nd}f}"

        n = self.a.messages
        rb.log("\n" + "=" * 96)
        rb.log(f"TLS: {n:,} messages over one connection, medians of {self.a.rounds} round(s)")
        rb.log(f"{'receiver':<34} {'msgs/s':>9} {'seconds':>8} {'sender done':>11} {'CPU s':>7} {'CPU µs/msg':>10}")
        names = {"gw_tls": "gateway (audit.db, fsync'd)", "rs_tls": "rsyslog omfile (page cache)",
                 "rs_tls_sync": "rsyslog omfile sync=on (fsync'd)"}
        for run, label in names.items():
            m = med.get(run)
            if m:
                rb.log(f"{label:<34} {f(m['rate']):>9} {f(m['seconds'], 2):>8} {f(m['send_seconds'], 2):>11} "
                       f"{f(m['cpu_s'], 2):>7} {f(m['cpu_us_per_msg']):>10}")
        g = med["gw_tls"]["rate"]
        for run in ("rs_tls", "rs_tls_sync"):
            if run in med and med[run]["rate"]:
                rb.log(f"gateway / {names[run]}: {g / med[run]['rate']:.2f}")
        rb.log(f"\nUDP: {self.a.udp_rate:,} msgs/s for {self.a.udp_seconds:g} s, medians")
        rb.log(f"{'receiver':<34} {'sent':>7} {'stored':>7} {'lost':>6} {'kernel drops':>12} {'lag s':>6} {'CPU s':>6}")
        for run, label in (("gw_udp", "gateway (audit.db, fsync'd)"), ("rs_udp", "rsyslog omfile (page cache)")):
            m = med[run]
            rb.log(f"{label:<34} {f(m['sent']):>7} {f(m['received']):>7} {f(m['lost']):>6} "
                   f"{f(m['kernel_drops']):>12} {f(m['lag_s'], 2):>6} {f(m['cpu_s'], 2):>6}")
        rb.log("=" * 96)
        udp_lost = max(x or 0 for x in med["gw_udp"]["lost_all"])
        verdict = [
            {"target": f">= {TARGET_TLS_RATE:,} audits/s persisted over one TLS connection",
             "measured": f"{g:,.0f}/s", "hit": g >= TARGET_TLS_RATE},
            {"target": f"UDP at {TARGET_UDP_RATE:,}/s with no loss",
             "measured": f"worst round lost {udp_lost}", "hit": udp_lost == 0
             and self.a.udp_rate >= TARGET_UDP_RATE},
        ]
        self.results["verdict"] = verdict
        rb.log("targets (" + ("SMOKE run: too short to judge" if self.a.smoke else "full run") + "):")
        for v in verdict:
            rb.log(f"  {'HIT ' if v['hit'] else 'MISS'}  {v['target']:<56} {v['measured']}")

    def run(self):
        rb.log(f"work dir {self.work}")
        self.loadavg("start")
        try:
            self.start_receivers()
            self.warm_up()
            rounds = [self.one_round(r) for r in range(self.a.rounds)]
            self.loadavg("end")
            self.results["rounds"] = rounds
            med = self.medians(rounds)
            self.results["medians"] = med
            self.report(med)
            rc = self.rs.stop()
            if rc not in (0, None):
                self.errors.append(f"rsyslogd exited {rc} on SIGTERM")
            for c in self.counters.values():
                c.close()
            self.stop_gateway()
            self.check_audit_db()
            self.check_rsyslog_files()
        except Exception as e:  # noqa: BLE001 - report and fail
            self.errors.append(f"{type(e).__name__}: {e}")
            rb.log(f"ERROR: {e}")
        finally:
            rb.stop_children()
            if self.a.json:
                self.results["errors"] = self.errors
                Path(self.a.json).write_text(json.dumps(self.results, indent=2, default=str))
            if self.errors:
                rb.log("ERRORS:\n" + "\n".join(f"  - {e}" for e in self.errors))
            if self.a.keep or self.errors:
                rb.log(f"kept work dir {self.work}")
            else:
                shutil.rmtree(self.work, ignore_errors=True)
        return 1 if self.errors else 0


def main():
    release = rb.REPO / "build" / "release"
    shared = Path(os.environ.get("CG_SHARED_DATA", rb.REPO.parent / "shared" / "data"))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", default=os.environ.get("CG_GATEWAY", str(release / "gateway" / "clinic-gateway")))
    ap.add_argument("--samples", default=str(shared / "atna" / "ipf"), help="dir of the IPF audit samples")
    ap.add_argument("--messages", type=int, help="TLS messages per run (default 100,000, smoke 500)")
    ap.add_argument("--udp-rate", type=int, default=TARGET_UDP_RATE, help="UDP messages/s (default 10,000)")
    ap.add_argument("--udp-seconds", type=float, help="seconds of UDP per run (default 5, smoke 0.2)")
    ap.add_argument("--rounds", type=int, help="alternating rounds, medians reported (default 3, smoke 1)")
    ap.add_argument("--no-sync", dest="sync", action="store_false", help="skip rsyslog with sync=\"on\"")
    ap.add_argument("--worker-threads", type=int, default=4, help="gateway http.worker_threads (unused here)")
    ap.add_argument("--smoke", action="store_true", help="a second or two of load, for CTest")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (data dirs, logs, rsyslog files)")
    a = ap.parse_args()
    files = sorted(Path(a.samples).glob("*.xml"))
    if not files:
        print(f"SKIP: no IPF audit samples in {a.samples} (../shared/data is absent)")
        sys.exit(SKIP)
    missing = rsyslog_missing()
    if missing:
        print(f"SKIP: {missing}")
        sys.exit(SKIP)
    if not os.access(a.gateway, os.X_OK):
        ap.error(f"--gateway (or CG_GATEWAY) must name an executable: {a.gateway}")
    if a.messages is None:
        a.messages = 500 if a.smoke else 100_000
    if a.udp_seconds is None:
        a.udp_seconds = 0.2 if a.smoke else 5.0
    if a.rounds is None:
        a.rounds = 1 if a.smoke else 3
    signal.signal(signal.SIGTERM, rb.on_signal)
    signal.signal(signal.SIGINT, rb.on_signal)
    atexit.register(rb.stop_children)
    sys.exit(AtnaBench(a, files).run())


if __name__ == "__main__":
    main()
