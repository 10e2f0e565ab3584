#!/usr/bin/python3
"""The HL7v2 MLLP listener of a real daemon, driven by Debian's python3-hl7 client.

    /usr/bin/python3 mllp_test.py <clinic-gateway>

Checks what holds whatever message types are supported: every message gets an answer that
python3-hl7 parses, with MSA-2 = the message's MSH-10 and swapped sender/receiver; message
types without a handler are AR with ERR 200, bytes that are not HL7 AR with 100; a message
sent again gets the very same answer bytes from messages.db, also after a restart; several
connections at once all get their answers. Skips (exit 77) when python3-hl7 is missing.
"""

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


def message(control_id: str, kind: str = "ORM^O01^ORM_O01") -> str:
    return "\r".join([
        f"MSH|^~\\&|LAB^1.2.3.4^ISO|KISUMU|GW|GW|20261121080000||{kind}|{control_id}|P|2.5.1",
        "PID|1||42^^^KISUMU^MR||Otieno^Ben",
        "ORC|NW|ORD-1",
    ]) + "\r"


def send(port: int, text: str) -> str:
    client = hl7.client.MLLPClient("127.0.0.1", port)
    try:
        client.socket.settimeout(30)
        return client.send_message(text).decode("utf-8")
    finally:
        client.close()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    checks = Checks()
    overrides = {"mllp": {"enabled": True, "port": 0}, "hl7": {"application_name": "TEST-GW"}}
    with GatewayProcess(binary, overrides, name="mllp") as gw:
        checks.check("the daemon logs its MLLP port", gw.mllp_port is not None, gw.log_tail())
        port = gw.mllp_port

        answer = send(port, message("ORD-0001"))
        ack = hl7.parse(answer)
        checks.check("the answer parses with python3-hl7", str(ack.segment("MSH")[0]) == "MSH")
        msa = ack.segment("MSA")
        checks.check("MSA-2 is the message's control id", str(msa[2]) == "ORD-0001", answer)
        checks.check("an unsupported type is AR", str(msa[1]) == "AR", answer)
        err = ack.segment("ERR")
        checks.check("with ERR-3 200 (unsupported message type)", str(err[3][0][0]) == "200", answer)
        msh = ack.segment("MSH")
        checks.check("sender and receiver are swapped",
                     str(msh[3]) == "GW" and str(msh[5]) == "LAB^1.2.3.4^ISO", answer)
        checks.check("the version is the message's", str(msh[12]) == "2.5.1", answer)

        again = send(port, message("ORD-0001"))
        checks.check("a resend gets the same answer bytes", again == answer)

        garbage = hl7.parse(send(port, "this is not an HL7 message\r"))
        checks.check("bytes that are not HL7 are AR 100",
                     str(garbage.segment("MSA")[1]) == "AR"
                     and str(garbage.segment("ERR")[3][0][0]) == "100")

        # Eight senders at once, each with its own messages.
        answers: dict[str, str] = {}
        lock = threading.Lock()

        def sender(n: int) -> None:
            for i in range(10):
                cid = f"C{n}-{i}"
                text = send(port, message(cid))
                with lock:
                    answers[cid] = text

        threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        checks.check("80 messages on 8 connections all answered", len(answers) == 80, str(len(answers)))
        checks.check("each answer names its own message",
                     all(str(hl7.parse(a).segment("MSA")[2]) == cid for cid, a in answers.items()))

        checks.check("SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
        gw.start()
        after_restart = send(gw.mllp_port, message("ORD-0001"))
        checks.check("after a restart the resend still gets the first answer", after_restart == answer)
        checks.check("the log holds no message content",
                     "Otieno" not in gw.log_text() and "ORD-0001" not in gw.log_text())
        checks.check("SIGTERM stops the daemon with 0 again", gw.stop() == 0, gw.log_tail())
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
