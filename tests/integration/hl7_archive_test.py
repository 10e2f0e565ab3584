#!/usr/bin/python3
"""The `clinic-gateway hl7` commands against a real daemon's message archive, while it serves.

    /usr/bin/python3 hl7_archive_test.py <clinic-gateway>

An ADT^A28 whose MRN two stored Patients share is answered AE 205 (the feed cannot tell which
Patient it means). `hl7 list` shows it (without patient data) and `hl7 show` its segments and
error. Once the duplicate Patient is deleted over FHIR, `hl7 reprocess` (a second process,
while the daemon goes on storing messages from senders) answers AA and updates the one
Patient left, which the daemon then serves; the list no longer shows the message as AE, and a
resend of it over MLLP is answered AA. Reprocessing a message that was AA updates the same
Patient again (no copy). An unknown id exits 1. Neither the daemon's log nor the commands'
stderr holds patient data. Skips (exit 77) when python3-hl7 is missing.
"""

import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import Checks, GatewayProcess, binary_from_argv  # noqa: E402

try:
    import hl7
    import hl7.client
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
    sys.exit(77)

MRN_SYSTEM = "http://kisumu.example/mrn"
PATIENT_DATA = ("Wanjiru", "MRN-55", "Kamau", "MRN-56", "Njeri")


def a28(control_id: str, mrn: str, family: str) -> str:
    return "\r".join([
        f"MSH|^~\\&|EMR|KISUMU|GW|GW|20261121080000+0300||ADT^A28^ADT_A05|{control_id}|P|2.5.1",
        "EVN|A28|20261121080000+0300",
        f"PID|1||{mrn}^^^KISUMU^MR||{family}^Grace||19850412|F",
    ]) + "\r"


def send(port: int, text: str):
    client = hl7.client.MLLPClient("127.0.0.1", port)
    try:
        client.socket.settimeout(30)
        return hl7.parse(client.send_message(text).decode("utf-8"))
    finally:
        client.close()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    overrides = {"mllp": {"enabled": True, "port": 0},
                 "hl7.identifier_systems": {"KISUMU": MRN_SYSTEM}}
    with GatewayProcess(binary, overrides, name="hl7-archive") as gw:
        stderr_seen = []

        def hl7_command(*words):
            done = subprocess.run([binary, "hl7", *words, "--config", str(gw.config_path)],
                                  capture_output=True, text=True, timeout=120)
            stderr_seen.append(done.stderr)
            return done

        def patients(mrn: str):
            found, _ = gw.json("GET", f"/fhir/Patient?identifier={MRN_SYSTEM}|{mrn}")
            return [e["resource"] for e in found.get("entry", [])]

        # Two Patients share MRN-55: the identity feed cannot tell which one a message means.
        ids = []
        for _ in range(2):
            created, _ = gw.json("POST", "/fhir/Patient", {
                "resourceType": "Patient",
                "identifier": [{"system": MRN_SYSTEM, "value": "MRN-55"}]}, expect=201)
            ids.append(created["id"])
        ack = send(gw.mllp_port, a28("ADT-55", "MRN-55", "Wanjiru"))
        checks.check("the ambiguous ADT^A28 is AE 205",
                     str(ack.segment("MSA")[1]) == "AE" and str(ack.segment("ERR")[3][0][0]) == "205",
                     str(ack))

        listed = hl7_command("list", "--outcome", "AE")
        lines = [line for line in listed.stdout.splitlines() if " ADT-55 " in line]
        checks.check("hl7 list --outcome AE shows it", listed.returncode == 0 and len(lines) == 1,
                     listed.stdout + listed.stderr)
        message_id = lines[0].split()[0] if lines else "0"
        checks.check("with sender, type, ack and nothing written",
                     bool(lines) and lines[0].split()[2:] == ["EMR/KISUMU", "ADT^A28", "ADT-55", "AE", "0", "0"],
                     listed.stdout)
        checks.check("the list holds no patient data",
                     all(w not in listed.stdout for w in PATIENT_DATA), listed.stdout)
        only_aa = hl7_command("list", "--outcome", "AA")
        checks.check("hl7 list --outcome AA does not", " ADT-55 " not in only_aa.stdout, only_aa.stdout)

        shown = hl7_command("show", message_id)
        checks.check("hl7 show prints its segments one per line, and its error",
                     shown.returncode == 0
                     and "\n    PID|1||MRN-55^^^KISUMU^MR||Wanjiru^Grace||19850412|F\n" in shown.stdout
                     and "first answer: AE" in shown.stdout and "error 205 " in shown.stdout,
                     shown.stdout + shown.stderr)

        # The fix: the duplicate goes. Reprocess while senders keep the daemon writing.
        gw.request("DELETE", f"/fhir/Patient/{ids[1]}")
        answers = []
        sending, rerun_done = threading.Event(), threading.Event()

        def sender():  # from before the rerun starts until after it has finished
            i = 0
            while not rerun_done.is_set() or i < 10:
                answers.append(send(gw.mllp_port, a28(f"BUSY-{i}", f"MRN-9{i}", "Njeri")))
                sending.set()
                i += 1

        busy = threading.Thread(target=sender)
        busy.start()
        sending.wait(60)
        rerun = hl7_command("reprocess", message_id)
        rerun_done.set()
        busy.join(300)
        checks.check("hl7 reprocess exits 0 and prints the new answer",
                     rerun.returncode == 0
                     and rerun.stdout.startswith(f"message {message_id} reprocessed (was AE): AA\n")
                     and f"wrote: Patient/{ids[0]}" in rerun.stdout,
                     rerun.stdout + rerun.stderr)
        checks.check("the sender meanwhile was answered AA every time",
                     not busy.is_alive() and len(answers) >= 10
                     and all(str(a.segment("MSA")[1]) == "AA" for a in answers),
                     str(len(answers)))
        now = patients("MRN-55")
        checks.check("the daemon serves the one Patient left, updated by the rerun",
                     len(now) == 1 and now[0]["id"] == ids[0] and now[0]["name"][0]["family"] == "Wanjiru",
                     str(now))
        after = hl7_command("list", "--outcome", "AE")
        checks.check("it is no longer listed as AE", " ADT-55 " not in after.stdout, after.stdout)
        history = hl7_command("show", message_id)
        checks.check("hl7 show has the rerun in its history",
                     "answer now: AA (reprocessed 1 time)" in history.stdout
                     and "\nreprocessed " in history.stdout, history.stdout)
        resent = send(gw.mllp_port, a28("ADT-55", "MRN-55", "Wanjiru"))
        checks.check("a resend of the message is now answered AA", str(resent.segment("MSA")[1]) == "AA",
                     str(resent))

        # A message that was AA: the rerun updates the same Patient, it makes no copy.
        first = send(gw.mllp_port, a28("ADT-56", "MRN-56", "Kamau"))
        checks.check("another ADT^A28 is AA", str(first.segment("MSA")[1]) == "AA", str(first))
        before = patients("MRN-56")
        line = [ln for ln in hl7_command("list").stdout.splitlines() if " ADT-56 " in ln]
        again = hl7_command("reprocess", line[0].split()[0] if line else "0")
        after56 = patients("MRN-56")
        checks.check("reprocessing it is AA and updates the same Patient",
                     again.returncode == 0 and len(before) == 1 and len(after56) == 1
                     and after56[0]["id"] == before[0]["id"],
                     again.stdout + again.stderr + str(after56))

        unknown = hl7_command("reprocess", "999999")
        checks.check("an unknown id exits 1 with a clear message",
                     unknown.returncode == 1 and "no archived message 999999" in unknown.stderr,
                     unknown.stdout + unknown.stderr)

        checks.check("SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
        offline = hl7_command("show", message_id)
        checks.check("hl7 show works with the daemon stopped too",
                     offline.returncode == 0 and "answer now: AA" in offline.stdout, offline.stderr)
        checks.check("neither the daemon's log nor the commands' stderr holds patient data",
                     all(w not in gw.log_text() + "".join(stderr_seen) for w in PATIENT_DATA))
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
