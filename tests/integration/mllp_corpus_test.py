#!/usr/bin/python3
"""Every IPF sample message (../shared/data/hl7v2/ipf/) sent over MLLP gets a correct answer.

    /usr/bin/python3 mllp_corpus_test.py <clinic-gateway> [path/to/hl7v2/ipf]

The files are split into messages as the C++ corpus test does (tests/hl7v2/corpus_test.cpp:
a message starts at each MSH; FHS/BHS/BTS/FTS envelopes and blank lines between messages are
dropped) and each message is sent, byte for byte as in the file, in its own frame on one
python3-hl7 connection that waits for each answer. For every answer:

- one MLLP frame, parsed by python3-hl7 and by this test's own reader;
- MSH: the message's delimiters; MSH-5/6 = the message's MSH-3/4 and MSH-3/4 = its MSH-5/6
  (MSH-3 = the configured application name when MSH-5 is empty), the same MSH-11 and MSH-12,
  MSH-9 = ACK^<trigger>^ACK, a control id of its own; MSA-2 = the message's MSH-10;
- MSA-1 from AA/AE/AR, or CA/CE/CR when MSH-15 asks for an accept acknowledgement (valued,
  not NE);
- AE/AR carry an ERR with an HL7 table 0357 code (ERR-3 from v2.5, ERR-1.4 before), AA none.

What the answer must be is worked out from the message's own content, by the rules of
docs/hl7v2.md's answers table: a required MSH field missing → AR 101; a version outside
2.3–2.8 → AR 203; a type or event without a handler (responses, MDM, ...) → AR 200 / 201; a
handled type → AA, or AE when the content lacks what the mapper requires (no PID, PID-3
without a value, no PV1, PV1-2 empty, ...). An AE the test did not predict must be explained
by its ERR (101 at a field that is empty, 102/103 at a field that is valued, 205 with several
stored Patients holding the message's identifiers, or 205 for an order whose stored report
belongs to another Patient); each one is printed. Queries (PDQ
QBP^Q22, PIX QBP^Q23, QCN^J01) are answered RSP^K22 / RSP^K23 (ACK^J01) with QAK-1 = the
query tag and the QPD as sent; by docs/hl7v2.md's Queries section the answer is AE 204 for a
domain no stored patient has an identifier in, 103/102/101 for QPD-3 fields that cannot be
searched on, else AA with QAK-2 OK/NF, QAK-4 and as many PIDs (and a DSC) as the equivalent
FHIR Patient search finds. The corpus's queries come before most of its patients, so each is
asked once more at the end.

After an AA, the resources the message means are looked up over FHIR REST: the Patient by
each PID-3 identifier (system by the identifier rules of docs/hl7v2.md; demographics for the
identity feed, which replaces the Patient), the Encounter of a visit event by PV1-19 (or one
more Encounter without it), the merged identifiers on the survivor of a merge, the
Immunization of each VXU order, the DiagnosticReport of each ORU order with one Observation
per OBX under the documented identifiers, the Appointment of a SIU by SCH-2/SCH-1. An AA'd
message must not have moved a stored report or visit to another Patient, nor dropped results
from a report (docs/hl7v2.md, Results: such a message is AE 205; a partial resend keeps the
report's other results).

Several corpus files reuse one (MSH-3, MSH-4, MSH-10) for different messages. A reuse gets
the first message's answer byte for byte (the documented duplicate rule) — unless that answer
was AR/CR, which tells the sender to send again: then the reuse is processed, and checked, as
the message it is. When a reuse's content differs, it is sent once more under a control id of
its own ("<MSH-10>-R<n>") so that its content is checked too. At the end every message is sent
again and must get its answer again (a rejected one the same rejection, anew).

Skips (77) when the corpus directory or python3-hl7 is missing. Never copies the corpus.
"""

from __future__ import annotations

import datetime
import re
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway_process import (SKIP, Checks, GatewayProcess, binary_from_argv,  # noqa: E402
                             default_shared_data)

try:
    import hl7
    import hl7.client
except ImportError:
    print("SKIP: python3-hl7 is not installed (apt-get install python3-hl7)")
    sys.exit(SKIP)

APPLICATION = "CORPUS-GW"
ANSWER_TIMEOUT_S = 30
BOM = b"\xef\xbb\xbf"
SB, EB, CR = hl7.client.SB, hl7.client.EB, hl7.client.CR
TABLE_0357 = {0, 100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207}

# The handlers gateway/hl7_handlers.cpp registers, by what they store.
VISIT_EVENTS = {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A13"}
HANDLERS = {f"ADT^{e}": "visit" for e in VISIT_EVENTS}
HANDLERS.update({"ADT^A28": "identity", "ADT^A31": "identity", "VXU^V04": "vxu", "ORU^R01": "oru"})
HANDLERS.update({f"ADT^{e}": "merge" for e in ("A30", "A34", "A39", "A40")})
HANDLERS.update({f"SIU^{e}": "siu" for e in ("S12", "S13", "S14", "S15")})
# The queries gateway/hl7_queries.cpp answers, and the answer type of each.
HANDLERS.update({"QBP^Q22": "pdq", "QBP^Q23": "pix", "QCN^J01": "cancel"})
RESPONSE_TYPE = {"QBP^Q22": ("RSP", "K22", "RSP_K21"), "QBP^Q23": ("RSP", "K23", "RSP_K23")}
KNOWN_CODES = {name.split("^")[0] for name in HANDLERS}
# docs/hl7v2.md, Visits: the event's Encounter.status (A08: from PV1).
EVENT_STATUS = {"A01": "in-progress", "A02": "in-progress", "A03": "finished", "A04": "in-progress",
                "A05": "planned", "A06": "in-progress", "A07": "in-progress", "A11": "cancelled",
                "A13": "in-progress"}
GENDER = {"M": "male", "F": "female", "O": "other", "U": "unknown", "A": "other", "N": "other"}
# docs/hl7v2.md, Queries: the QPD-3 fields PDQ searches on (names without "@" and trailing
# ".1"), as FHIR Patient search parameters.
PDQ_FIELDS = {"PID.5": "family", "PID.5.2": "given", "PID.5.3": "given", "PID.7": "birthdate",
              "PID.8": "gender", "PID.11": "address", "PID.11.2": "address",
              "PID.11.3": "address-city", "PID.11.4": "address-state",
              "PID.11.5": "address-postalcode", "PID.11.6": "address-country",
              "PID.11.9": "address", "PID.13": "phone", "PID.13.4": "email", "PID.13.12": "phone",
              "PID.14": "phone", "PID.14.4": "email", "PID.14.12": "phone"}
PDQ_PAGE = 100  # records in one PDQ answer at most
APPOINTMENT_STATUS = {"PENDING": "pending", "WAITLIST": "waitlist", "BOOKED": "booked",
                      "STARTED": "checked-in", "COMPLETE": "fulfilled", "CANCELLED": "cancelled",
                      "DELETED": "entered-in-error", "NOSHOW": "noshow"}


# ---- reading v2 (independent of the gateway's parser, on purpose) ---------------------------

_LINE_END = re.compile(rb"\r\n|\r|\n")


def split_messages(data: bytes) -> list[bytes]:
    """As cg::hl7v2::split_messages: a chunk starts at each MSH (or at other text before the
    first MSH); FHS/BHS/BTS/FTS lines and blank lines between messages are dropped; a leading
    BOM stays with its message. Returns the chunks' original bytes."""
    def starts(line: bytes, seg: bytes) -> bool:
        return line[:3] == seg and (len(line) == 3 or not chr(line[3]).isalnum())

    body = len(BOM) if data.startswith(BOM) else 0
    out, start, pos = [], None, body
    while pos < len(data):
        m = _LINE_END.search(data, pos)
        end, nxt = (m.start(), m.end()) if m else (len(data), len(data))
        line = data[pos:end]
        at = 0 if pos == body else pos
        if starts(line, b"MSH"):
            if start is not None:
                out.append(data[start:at])
            start = at
        elif any(starts(line, s) for s in (b"FHS", b"BHS", b"BTS", b"FTS")):
            if start is not None:
                out.append(data[start:at])
            start = None
        elif start is None and line.strip(b" \t"):
            start = at
        pos = nxt
    if start is not None:
        out.append(data[start:])
    return out


class V2:
    """One message's segments and fields. Text is kept as latin-1 strings (one character per
    byte) so that raw fields compare byte for byte; value() unescapes and decodes by MSH-18."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.bom = raw.startswith(BOM)
        text = (raw[len(BOM):] if self.bom else raw).decode("latin-1")
        lines = [ln for ln in re.split(r"\r\n|\r|\n", text) if ln.strip(" \t")]
        if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
            raise ValueError("does not start with an MSH")
        self.fs = lines[0][3]
        enc = lines[0][4:].split(self.fs, 1)[0]
        self.cs, self.rs, self.esc = enc[0], enc[1], enc[2]
        self.ss = enc[3] if len(enc) > 3 else "&"
        self.segments = []
        for ln in lines:
            parts = ln.split(self.fs)
            # Index n is field n: MSH-1 is the separator itself, MSH-2 the encoding characters.
            self.segments.append(["MSH", self.fs] + parts[1:] if parts[0] == "MSH" else parts)
        self.charset = ""  # MSH-18 itself is ASCII
        charset = self.value(self.msh, 18).upper()
        self.charset = ("latin-1" if charset == "8859/1" else
                        "utf-8" if charset in ("UNICODE UTF-8", "UTF-8") or self.bom else "")

    @property
    def msh(self) -> list[str]:
        return self.segments[0]

    def all(self, seg: str) -> list[list[str]]:
        return [s for s in self.segments if s[0] == seg]

    def first(self, seg: str) -> list[str] | None:
        found = self.all(seg)
        return found[0] if found else None

    def field(self, seg: list[str] | None, n: int) -> str:
        return seg[n] if seg is not None and n < len(seg) else ""

    def reps(self, seg: list[str] | None, n: int) -> list[str]:
        raw = self.field(seg, n)
        return [raw] if n <= 2 and seg and seg[0] == "MSH" else raw.split(self.rs)

    def part(self, rep: str, c: int = 1, s: int = 1) -> str:
        comps = rep.split(self.cs)
        if c > len(comps):
            return ""
        subs = comps[c - 1].split(self.ss)
        return subs[s - 1] if s <= len(subs) else ""

    def decode(self, raw: str) -> str:
        """A raw value as the gateway reads it in plain text: unescaped, decoded, trimmed;
        HL7's null "" reads as empty."""
        if raw == '""':
            return ""
        e = re.escape(self.esc)
        named = {"F": self.fs, "S": self.cs, "T": self.ss, "R": self.rs, "E": self.esc}

        def unescape(m: re.Match) -> str:
            body = m.group(1)
            if body in named:
                return named[body]
            if body.startswith("X") and len(body) % 2 == 1 and re.fullmatch(r"X[0-9A-Fa-f]*", body):
                return bytes.fromhex(body[1:]).decode("latin-1")
            if body in ("H", "N"):
                return ""
            if body == ".br":
                return "\n"
            return m.group(0)

        text = re.sub(f"{e}([^{e}]*){e}", unescape, raw)
        data = text.encode("latin-1")
        if self.charset == "latin-1":
            value = data.decode("latin-1")
        elif self.charset == "utf-8":
            value = data.decode("utf-8", errors="replace")
        else:  # "ASCII" or empty: valid UTF-8 reads as UTF-8, anything else as 8859-1
            try:
                value = data.decode("utf-8")
            except UnicodeDecodeError:
                value = data.decode("latin-1")
        return value.strip()

    def value(self, seg: list[str] | None, n: int, r: int = 1, c: int = 1, s: int = 1) -> str:
        reps = self.reps(seg, n)
        if r > len(reps) or seg is None:
            return ""
        if n <= 2 and seg[0] == "MSH":
            return self.field(seg, n)
        return self.decode(self.part(reps[r - 1], c, s))

    def code(self, seg, n, r=1, c=1, s=1) -> str:
        """As fhir_code(): whitespace runs become one space."""
        return " ".join(self.value(seg, n, r, c, s).split())

    def has_value(self, seg, n) -> bool:
        """Any repetition with a first component: what a required CX/EI/CWE/ID field needs."""
        return any(self.decode(self.part(rep, 1)) for rep in self.reps(seg, n))

    def has_text(self, seg, n) -> bool:
        return any(self.decode(c) for c in re.split(
            "[" + re.escape(self.rs + self.cs + self.ss) + "]", self.field(seg, n)))

    # Header
    def header_key(self) -> tuple[str, str, str]:
        return (self.field(self.msh, 3), self.field(self.msh, 4), self.field(self.msh, 10))

    def type_name(self) -> str:
        return f"{self.value(self.msh, 9, 1, 1)}^{self.value(self.msh, 9, 1, 2)}"

    def version(self) -> tuple[int, int] | None:
        m = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", self.value(self.msh, 12))
        return (int(m.group(1)), int(m.group(2))) if m and int(m.group(1)) > 0 else None

    def enhanced(self) -> bool:
        """An accept acknowledgement is asked for: MSH-15 holds anything (even an unknown code)
        but NE. With MSH-15 NE (or empty) and MSH-16 valued, the sender asks for the
        application acknowledgement (AA/AE/AR), as the gateway reads it."""
        code = self.part(self.reps(self.msh, 15)[0], 1)
        return code not in ("", '""', "NE")

    def with_control_id(self, control_id: str) -> bytes:
        """The same bytes with MSH-10 replaced (only in the MSH line)."""
        text = self.raw.decode("latin-1")
        start = 1 if self.bom else 0
        end = re.search(r"[\r\n]", text)
        end = end.start() if end else len(text)
        parts = text[start:end].split(self.fs)
        parts[9] = control_id  # "MSH" is index 0 and MSH-2 index 1: MSH-10 is index 9
        return (text[:start] + self.fs.join(parts) + text[end:]).encode("latin-1")


# ---- what the documented rules expect ---------------------------------------------------------

def percent_encoded(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def identifier_system(namespace: str, universal_id: str, universal_type: str) -> str | None:
    """docs/hl7v2.md, Identifier systems, rules 2-5 (the test configures no namespace)."""
    t = universal_type.upper()
    if universal_id:
        if t == "ISO" and re.fullmatch(r"[0-9]+(\.[0-9]+)*", universal_id):
            return "urn:oid:" + universal_id
        if t in ("UUID", "GUID") and re.fullmatch(r"[0-9A-Fa-f-]{36}", universal_id):
            return "urn:uuid:" + universal_id.lower()
        if t in ("URI", "URL") and not re.search(r"[\s\x00-\x1f]", universal_id):
            return universal_id
    if namespace:
        return "urn:cg:authority:" + percent_encoded(namespace)
    if universal_id:
        return "urn:cg:authority:" + percent_encoded(universal_id)
    return None


def cx_keys(m: V2, seg, n: int) -> list[tuple[str | None, str]]:
    """Every repetition of a CX field with a value, as (system, value)."""
    keys = []
    for rep in m.reps(seg, n):
        value = m.decode(m.part(rep, 1))
        if value:
            keys.append((identifier_system(m.decode(m.part(rep, 4, 1)), m.decode(m.part(rep, 4, 2)),
                                           m.decode(m.part(rep, 4, 3))), value))
    return keys


def ei_key(m: V2, seg, n: int) -> tuple[str | None, str] | None:
    rep = m.reps(seg, n)[0]
    value = m.decode(m.part(rep, 1))
    if not value:
        return None
    return (identifier_system(m.decode(m.part(rep, 2)), m.decode(m.part(rep, 3)),
                              m.decode(m.part(rep, 4))), value)


def patient_groups(m: V2) -> list[list[list[str]]]:
    """The segments from each PID to the next one."""
    groups: list[list[list[str]]] = []
    for seg in m.segments:
        if seg[0] == "PID":
            groups.append([])
        if groups:
            groups[-1].append(seg)
    return groups


@dataclass
class Expectation:
    code: str  # "AA" (handled), "AR"
    errors: set[int] = field(default_factory=set)  # AR: the code; AA: the AE codes predicted
    handler: str = ""
    why: str = ""


def required_header_missing(m: V2) -> bool:
    is_ack = m.value(m.msh, 9, 1, 1) == "ACK"
    required = [(9, 1), (10, 1), (11, 1), (12, 1)] + ([] if is_ack else [(9, 2)])
    return any(not m.value(m.msh, f, 1, c) for f, c in required)


def expect(m: V2) -> Expectation:
    """The answer docs/hl7v2.md's rules give this message, from its content alone."""
    if required_header_missing(m):
        return Expectation("AR", {101}, why="a required MSH field is empty")
    version = m.version()
    if version is None:
        return Expectation("AR", {102}, why="MSH-12 is not a version number")
    if not (version[0] == 2 and 3 <= version[1] <= 8):
        return Expectation("AR", {203}, why=f"version {m.value(m.msh, 12)} is outside 2.3-2.8")
    name = m.type_name()
    if name not in HANDLERS:
        code = name.split("^")[0]
        if code in KNOWN_CODES:
            return Expectation("AR", {201}, why=f"{name}: no handler for the event")
        return Expectation("AR", {200}, why=f"{name}: no handler for the type")
    handler = HANDLERS[name]
    return Expectation("AA", predicted_errors(m, handler, name.split("^")[1]), handler,
                       why=f"{name} is handled ({handler})")


def predicted_errors(m: V2, handler: str, trigger: str) -> set[int]:
    """The AE codes the message's structure must get (docs/hl7v2.md's Errors tables); empty
    when nothing structural is missing. Queries: QueryCheck works out their answers."""
    codes: set[int] = set()
    if handler in ("pdq", "pix", "cancel"):
        return codes
    pid = m.first("PID")
    if pid is None:
        codes.add(100)
    elif not cx_keys(m, pid, 3):
        codes.add(101)
    if handler == "visit":
        pv1 = m.first("PV1")
        update_only = trigger == "A08" and (pv1 is None or not m.has_value(pv1, 19))
        if not update_only:
            if pv1 is None:
                codes.add(100)
            elif not m.has_value(pv1, 2):
                codes.add(101)
            elif trigger in ("A11", "A13") and not m.has_value(pv1, 19):
                codes.add(101)
    elif handler == "merge":
        mrgs = m.all("MRG")
        if not mrgs or len(mrgs) > 1:
            codes.add(100)
        elif not cx_keys(m, mrgs[0], 1):
            codes.add(101)
    elif handler == "vxu":
        rxas = m.all("RXA")
        if not rxas:
            codes.add(100)
        for rxa in rxas:
            if not m.has_value(rxa, 3) or not (m.has_value(rxa, 5) or m.value(rxa, 5, 1, 2)):
                codes.add(101)
    elif handler == "oru":
        if not m.all("OBR") and not m.all("OBX"):
            codes.add(100)
        for seg, n in [(s, 4) for s in m.all("OBR")] + [(s, 3) for s in m.all("OBX")]:
            if not m.has_text(seg, n):
                codes.add(101)
    elif handler == "siu":
        sch = m.first("SCH")
        if sch is None:
            codes.add(100)
        elif not m.has_value(sch, 1) and not m.has_value(sch, 2):
            codes.add(101)
    return codes


# ---- the answer ---------------------------------------------------------------------------------

@dataclass
class ErrEntry:
    code: int | None
    segment: str
    sequence: int
    field: int
    text: str

    def where(self) -> str:
        return f"{self.segment}[{self.sequence or 1}]-{self.field}" if self.segment else "-"


def read_errors(m: V2, ack: V2) -> list[ErrEntry]:
    """ERR-3 / ERR-2 from v2.5 on (and for versions that are not numbers), ERR-1 before."""
    version = m.version()
    err2 = version is None or version[0] > 2 or (version[0] == 2 and version[1] >= 5)
    out = []
    for err in ack.all("ERR"):
        def number(text: str) -> int | None:
            return int(text) if text.isdigit() else None
        if err2:
            loc = ack.reps(err, 2)[0]
            out.append(ErrEntry(number(ack.value(err, 3, 1, 1)), ack.part(loc, 1),
                                number(ack.part(loc, 2)) or 0, number(ack.part(loc, 3)) or 0,
                                ack.value(err, 8)))
        else:
            out.append(ErrEntry(number(ack.value(err, 1, 1, 4, 1)), ack.value(err, 1, 1, 1),
                                number(ack.value(err, 1, 1, 2)) or 0,
                                number(ack.value(err, 1, 1, 3)) or 0, ack.value(err, 1, 1, 4, 2)))
    return out


def check_answer(m: V2, frame: bytes, control_ids: set[str]) -> tuple[list[str], V2 | None]:
    """Problems with the answer's form (not its verdict), and the parsed answer."""
    problems = []
    if not (frame.startswith(SB) and frame.endswith(EB + CR)) or frame.count(EB + CR) != 1:
        return [f"not one MLLP frame: {frame[:80]!r}"], None
    payload = frame[1:-2]
    try:
        ack = V2(payload)
    except ValueError as e:
        return [f"answer unreadable: {e}: {payload[:200]!r}"], None
    try:
        third_party = hl7.parse(payload.decode("latin-1"))
        if str(third_party.segment("MSA")[2]) != ack.field(ack.first("MSA"), 2):
            problems.append("python3-hl7 reads another MSA-2")
    except Exception as e:  # noqa: BLE001 - any failure of the third-party parser is a finding
        problems.append(f"python3-hl7 cannot parse the answer: {e!r}")
    msh, amsh = m.msh, ack.msh

    def same(a_field: int, m_field: int, label: str) -> None:
        if ack.field(amsh, a_field) != m.field(msh, m_field):
            problems.append(f"{label}: {ack.field(amsh, a_field)!r} != {m.field(msh, m_field)!r}")

    if (ack.fs, ack.field(amsh, 2)) != (m.fs, m.field(msh, 2)):
        problems.append("the answer's delimiters are not the message's")
    same(5, 3, "answer MSH-5 is not the message's MSH-3")
    same(6, 4, "answer MSH-6 is not the message's MSH-4")
    if m.field(msh, 5) and m.value(msh, 5):
        same(3, 5, "answer MSH-3 is not the message's MSH-5")
    elif ack.field(amsh, 3) != APPLICATION:
        problems.append(f"answer MSH-3 {ack.field(amsh, 3)!r}: the message has no MSH-5, "
                        f"expected the application name {APPLICATION}")
    same(4, 6, "answer MSH-4 is not the message's MSH-6")
    same(11, 11, "answer MSH-11 is not the message's")
    same(12, 12, "answer MSH-12 (version) is not the message's")
    answer_type = (ack.value(amsh, 9, 1, 1), ack.value(amsh, 9, 1, 2), ack.value(amsh, 9, 1, 3))
    response_type = RESPONSE_TYPE.get(m.type_name())
    if response_type and answer_type[0] == "RSP":  # a query's answer (QueryCheck reads the rest)
        if answer_type != response_type:
            problems.append(f"answer MSH-9 {ack.field(amsh, 9)!r}, "
                            f"expected {'^'.join(response_type)}")
    elif answer_type != ("ACK", m.value(msh, 9, 1, 2), "ACK"):
        problems.append(f"answer MSH-9 {ack.field(amsh, 9)!r}, expected ACK^<trigger>^ACK")
    own_id = ack.field(amsh, 10)
    if not own_id or own_id in control_ids:
        problems.append(f"answer MSH-10 {own_id!r} is empty or not unique")
    control_ids.add(own_id)
    msa = ack.first("MSA")
    if msa is None:
        return problems + ["no MSA"], ack
    if ack.field(msa, 2) != m.field(msh, 10):
        problems.append(f"MSA-2 {ack.field(msa, 2)!r} != MSH-10 {m.field(msh, 10)!r}")
    codes = ("CA", "CE", "CR") if m.enhanced() else ("AA", "AE", "AR")
    verdict = ack.value(msa, 1)
    if verdict not in codes:
        problems.append(f"MSA-1 {verdict!r} is not one of {'/'.join(codes)} "
                        f"({'enhanced' if m.enhanced() else 'original'} mode)")
    errors = read_errors(m, ack)
    if verdict[1:] == "A" and errors:
        problems.append(f"{verdict} with ERR segments")
    if verdict[1:] in ("E", "R"):
        if not errors:
            problems.append(f"{verdict} without an ERR segment")
        for e in errors:
            if e.code not in TABLE_0357:
                problems.append(f"ERR code {e.code!r} is not in table 0357")
    return problems, ack


# ---- the store, over FHIR ---------------------------------------------------------------------

def token(value: str) -> str:
    """A FHIR token search value: \\ | , $ escaped, then URL-encoded."""
    for c in ("\\", "|", ",", "$"):
        value = value.replace(c, "\\" + c)
    return urllib.parse.quote(value, safe="")


def search(gw: GatewayProcess, query: str) -> list[dict]:
    found, _ = gw.json("GET", f"/fhir/{query}")
    return [e["resource"] for e in found.get("entry", [])
            if e.get("search", {}).get("mode", "match") == "match"]


def count(gw: GatewayProcess, query: str) -> int:
    found, _ = gw.json("GET", f"/fhir/{query}{'&' if '?' in query else '?'}_summary=count")
    return found.get("total", -1)


def holds(resource: dict, key: tuple[str | None, str]) -> bool:
    system, value = key
    return any(i.get("value") == value and i.get("system") == system
               for i in resource.get("identifier", []))


def with_identifier(gw: GatewayProcess, rtype: str, key: tuple[str | None, str]) -> list[dict]:
    found = search(gw, f"{rtype}?identifier={token(key[1])}&_count=200")
    return [r for r in found if holds(r, key)]


def fmt(key) -> str:
    return f"{key[0] or '(no system)'}|{key[1]}"


def oru_orders(m: V2, group: list[list[str]]) -> tuple[dict, int]:
    """docs/hl7v2.md, Results: each order (OBR group; the ORC before it) is keyed OBR-3, ORC-3,
    OBR-2, ORC-2; its OBX are Observations identified <order>-<OBX-4, else the count of that
    code so far>-<OBX-3 code>. Returns {key: [Observation identifier values]} and the number of
    OBX without an order number."""
    reports: dict = {}
    order_codes: dict = {}
    unkeyed, key, orc = 0, None, None
    for seg in group:
        if seg[0] == "ORC":
            orc = seg
        elif seg[0] == "OBR":
            def number(n):
                return ei_key(m, seg, n) or (ei_key(m, orc, n) if orc is not None else None)
            key = number(3) or number(2)
            orc = None
            if key is not None:
                reports.setdefault(key, [])
        elif seg[0] == "OBX":
            if key is None:
                unkeyed += 1
                continue
            code = m.code(seg, 3, 1, 1) or m.code(seg, 3, 1, 4) or m.value(seg, 3, 1, 2)
            sub = m.code(seg, 4)
            if not sub:
                counts = order_codes.setdefault(key, {})
                counts[code] = counts.get(code, 0) + 1
                sub = str(counts[code])
            reports[key].append(f"{key[1]}-{sub}-{code}")
    return reports, unkeyed


def subject_of(resource: dict) -> str:
    return resource.get("subject", resource.get("patient", {})).get("reference", "")


class StoreCheck:
    """The resources an AA'd message means: snapshot() before it is sent (what its keys already
    name), run() after its answer. Problems fail the test; warnings report what the docs do not
    settle (a stored result or visit moving to another Patient, results dropping out of their
    report)."""

    def __init__(self, gw: GatewayProcess, m: V2, handler: str, trigger: str):
        self.gw, self.m, self.handler, self.trigger = gw, m, handler, trigger
        self.encounters_before = 0
        self.before: dict = {}  # (type, key) -> the stored resource the message's key names
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.found: list[str] = []

    def keyed(self) -> list[tuple[str, tuple]]:
        """The (resource type, identifier) pairs the message updates in place."""
        m, out = self.m, []
        if self.handler == "visit" and m.first("PV1") is not None:
            out += [("Encounter", k) for k in cx_keys(m, m.first("PV1"), 19)[:1]]
        if self.handler == "oru":
            for group in patient_groups(m):
                out += [("DiagnosticReport", k) for k in oru_orders(m, group)[0]]
        return out

    def snapshot(self) -> None:
        if self.handler == "visit":
            self.encounters_before = count(self.gw, "Encounter")
        for rtype, key in self.keyed():
            found = with_identifier(self.gw, rtype, key)
            if len(found) == 1:
                self.before[(rtype, key)] = found[0]

    def moved(self, rtype: str, key: tuple, now: dict) -> None:
        """Warns when a stored resource the message's key named changed its Patient, or (a
        report) lost results the message did not send again."""
        was = self.before.get((rtype, key))
        if was is None:
            return
        if subject_of(was) != subject_of(now):
            self.problems.append(f"{rtype} {fmt(key)} moved from {subject_of(was)} to "
                                 f"{subject_of(now)} (no merge: the message's PID is another "
                                 "patient)")
        dropped = ({r.get("reference") for r in was.get("result", [])}
                   - {r.get("reference") for r in now.get("result", [])})
        if dropped:
            self.problems.append(f"{rtype} {fmt(key)} no longer lists {len(dropped)} of its "
                                 "earlier results (still stored, referenced by no report)")

    def fail(self, text: str) -> None:
        self.problems.append(text)

    def run(self) -> None:
        groups = patient_groups(self.m) if self.handler == "oru" else patient_groups(self.m)[:1]
        for group in groups:
            ids = self.patient(group[0])
            if not ids:
                continue
            getattr(self, self.handler)(group, ids)

    def patient(self, pid: list[str]) -> set[str]:
        """The stored Patients holding PID-3's identifiers. The identity feed (ADT) replaces
        the Patient: one Patient holds all of them, with PID-5/7/8. VXU/ORU/SIU only create a
        Patient when none holds one of them: at least one is held."""
        keys = cx_keys(self.m, pid, 3)
        held = {k: with_identifier(self.gw, "Patient", k) for k in keys}
        ids = {p["id"] for found in held.values() for p in found}
        replaced = self.handler in ("identity", "visit", "merge")
        if replaced:
            survivors = {p["id"] for p in held[keys[0]] if p.get("active") is not False}
            if len(survivors) != 1 or any(survivors - {p["id"] for p in held[k]} for k in keys):
                self.fail(f"not one active Patient holding every PID-3 identifier "
                          f"({', '.join(fmt(k) for k in keys)}): {sorted(ids)}")
                return set()
            ids = survivors
            patient = next(p for p in held[keys[0]] if p["id"] in survivors)
            self.demographics(pid, patient)
        elif not ids:
            self.fail(f"no Patient holds any of {', '.join(fmt(k) for k in keys)}")
            return set()
        self.found.append(f"Patient/{'|'.join(sorted(ids))}")
        return ids

    def demographics(self, pid: list[str], patient: dict) -> None:
        m = self.m
        family = next((m.value(pid, 5, r, 1, 1) for r in range(1, len(m.reps(pid, 5)) + 1)
                       if m.value(pid, 5, r, 1, 1) or m.value(pid, 5, r, 2)), "")
        names = [n.get("family", "") for n in patient.get("name", [])]
        if family and (not names or names[0] != family):
            self.fail(f"Patient family name {names[:1]} != PID-5 {family!r}")
        gender = GENDER.get(m.code(pid, 8).upper(), "unknown") if m.code(pid, 8) else None
        if patient.get("gender") != gender:
            self.fail(f"Patient gender {patient.get('gender')!r} != {gender!r} (PID-8)")
        birth = re.match(r"(\d{4})(\d{2})?(\d{2})?", m.value(pid, 7))
        if birth and len(m.value(pid, 7)) >= 8:
            expected = "-".join(g for g in birth.groups() if g)
            try:
                datetime.date.fromisoformat(expected)
            except ValueError:
                return
            if patient.get("birthDate") != expected:
                self.fail(f"Patient birthDate {patient.get('birthDate')!r} != {expected!r} (PID-7)")

    def identity(self, group, ids) -> None:
        pass  # the Patient is all an A28/A31 means

    def visit(self, group, ids) -> None:
        m = self.m
        pv1 = m.first("PV1")
        visit = cx_keys(m, pv1, 19)[:1] if pv1 is not None else []
        after = count(self.gw, "Encounter")
        if self.trigger == "A08" and not visit:
            if after != self.encounters_before:
                self.fail(f"an A08 without PV1-19 changed the number of Encounters "
                          f"({self.encounters_before} -> {after})")
            return
        if not visit:
            if after != self.encounters_before + 1:
                self.fail(f"a visit without PV1-19 must create one Encounter "
                          f"({self.encounters_before} -> {after})")
            found = search(self.gw, f"Encounter?subject=Patient/{min(ids)}&_count=200")
        else:
            if after > self.encounters_before + 1:
                self.fail(f"more than one Encounter created ({self.encounters_before} -> {after})")
            found = with_identifier(self.gw, "Encounter", visit[0])
            if len(found) != 1:
                self.fail(f"{len(found)} Encounters hold PV1-19 {fmt(visit[0])}")
                return
            self.moved("Encounter", visit[0], found[0])
        found = [e for e in found if e.get("subject", {}).get("reference") in
                 {f"Patient/{i}" for i in ids}]
        if not found:
            self.fail("no Encounter refers to the Patient")
            return
        # Without a visit number: the Patient's Encounter written last.
        encounter = max(found, key=lambda e: e.get("meta", {}).get("lastUpdated", ""))
        status = EVENT_STATUS.get(self.trigger)
        if status is None:  # A08: from PV1
            cls = m.code(pv1, 2).upper()
            status = ("finished" if m.value(pv1, 45) else "planned" if cls == "P"
                      else "unknown" if cls == "U" else "in-progress")
        if encounter.get("status") != status:
            self.fail(f"Encounter status {encounter.get('status')!r} != {status!r} "
                      f"({self.trigger})")
        self.found.append(f"Encounter/{encounter['id']} ({encounter.get('status')})")

    def merge(self, group, ids) -> None:
        m = self.m
        survivor = min(ids)
        merged = cx_keys(m, m.first("MRG"), 1)
        for key in merged:
            holders = with_identifier(self.gw, "Patient", key)
            if not any(p["id"] == survivor for p in holders):
                self.fail(f"the survivor lacks the merged identifier {fmt(key)}")
            for p in holders:
                if p["id"] == survivor:
                    continue
                links = {(ln.get("type"), ln.get("other", {}).get("reference"))
                         for ln in p.get("link", [])}
                if p.get("active") is not False or \
                        ("replaced-by", f"Patient/{survivor}") not in links:
                    self.fail(f"Patient/{p['id']} (MRG-1) is not inactive and replaced-by "
                              "the survivor")
                else:
                    self.found.append(f"merged Patient/{p['id']}")

    def vxu(self, group, ids) -> None:
        m = self.m
        refs = {f"Patient/{i}" for i in ids}
        orders, orc = [], None
        for seg in m.segments:
            if seg[0] == "ORC":
                orc = seg
            elif seg[0] == "RXA":
                orders.append((orc, seg))
                orc = None
        unkeyed = 0
        for orc, rxa in orders:
            key = None
            if orc is not None:
                key = ei_key(m, orc, 3)
                if key is None or key[1] == "9999":
                    key = ei_key(m, orc, 2)
            if key is None:
                unkeyed += 1
                continue
            found = with_identifier(self.gw, "Immunization", key)
            if len(found) != 1 or found[0].get("patient", {}).get("reference") not in refs:
                self.fail(f"{len(found)} Immunizations of the Patient hold {fmt(key)}")
                continue
            shot = found[0]
            codes = {c.get("code") for c in shot.get("vaccineCode", {}).get("coding", [])}
            if m.code(rxa, 5) and m.code(rxa, 5) not in codes:
                self.fail(f"Immunization vaccineCode {sorted(codes)} lacks RXA-5 "
                          f"{m.code(rxa, 5)!r}")
            status = ("entered-in-error" if m.code(rxa, 21).upper() == "D" else
                      "not-done" if m.code(rxa, 20).upper() in ("RE", "NA") else "completed")
            if shot.get("status") != status:
                self.fail(f"Immunization status {shot.get('status')!r} != {status!r}")
            self.found.append(f"Immunization/{shot['id']}")
        if unkeyed:
            n = sum(count(self.gw, f"Immunization?patient=Patient/{i}") for i in ids)
            if n < unkeyed:
                self.fail(f"{n} Immunizations for {unkeyed} RXA without an order number")

    def oru(self, group, ids) -> None:
        """One DiagnosticReport per order, listing one Observation per OBX (oru_orders)."""
        refs = {f"Patient/{i}" for i in ids}
        reports, unkeyed = oru_orders(self.m, group)
        for key, expected in reports.items():
            found = with_identifier(self.gw, "DiagnosticReport", key)
            if len(found) != 1 or found[0].get("subject", {}).get("reference") not in refs:
                self.fail(f"{len(found)} DiagnosticReports of the Patient hold {fmt(key)}")
                continue
            report = found[0]
            self.moved("DiagnosticReport", key, report)
            results = [r.get("reference", "") for r in report.get("result", [])]
            got = []
            for ref in results:
                obs, _ = self.gw.json("GET", f"/fhir/{ref}")
                if obs.get("subject", {}).get("reference") not in refs:
                    self.fail(f"{ref} does not refer to the Patient")
                got += [i.get("value") for i in obs.get("identifier", [])
                        if i.get("system") == key[0]]
            if sorted(got) != sorted(expected):
                self.fail(f"DiagnosticReport {fmt(key)}: Observations {sorted(got)} != "
                          f"{sorted(expected)}")
            self.found.append(f"DiagnosticReport/{report['id']} + {len(results)} Observations")
        if unkeyed:
            n = sum(count(self.gw, f"Observation?subject=Patient/{i}") for i in ids)
            if n < unkeyed:
                self.fail(f"{n} Observations for {unkeyed} OBX without an order number")
            else:
                self.found.append(f"{unkeyed} Observations without an order number")

    def siu(self, group, ids) -> None:
        m = self.m
        sch = m.first("SCH")
        key = ei_key(m, sch, 2) or ei_key(m, sch, 1)
        found = with_identifier(self.gw, "Appointment", key)
        if len(found) != 1:
            self.fail(f"{len(found)} Appointments hold {fmt(key)}")
            return
        appointment = found[0]
        status = ("cancelled" if self.trigger == "S15" else
                  APPOINTMENT_STATUS.get(m.code(sch, 25).upper(), "booked"))
        if appointment.get("status") != status:
            self.fail(f"Appointment status {appointment.get('status')!r} != {status!r}")
        actors = {p.get("actor", {}).get("reference") for p in appointment.get("participant", [])}
        if not actors & {f"Patient/{i}" for i in ids}:
            self.fail("the Patient is not a participant of the Appointment")
        self.found.append(f"Appointment/{appointment['id']}")


def pdq_date(value: str) -> str | None:
    """An HL7 date (YYYY[MM[DD]], a time after it ignored) as a FHIR date; None if invalid."""
    m = re.fullmatch(r"(\d{4})(\d{2})?(\d{2})?(\d{2,6}(\.\d+)?)?([+-]\d{4})?", value)
    if not m:
        return None
    parts = [g for g in m.groups()[:3] if g]
    try:
        datetime.date(int(parts[0]), int(parts[1]) if len(parts) > 1 else 1,
                      int(parts[2]) if len(parts) > 2 else 1)
    except ValueError:
        return None
    return "-".join(parts)


def known_domain(gw: GatewayProcess, system: str) -> bool:
    """A domain is known when some patient has an identifier in it (none is configured)."""
    return count(gw, f"Patient?identifier={token(system)}|") > 0


class QueryCheck:
    """A PDQ (QBP^Q22), PIX (QBP^Q23) or cancel (QCN^J01) answer against what docs/hl7v2.md's
    Queries section makes of the query and of the stored patients (read over FHIR). Queries
    store nothing, so working this out after the answer sees the same data."""

    def __init__(self, gw: GatewayProcess, m: V2, handler: str, ack: V2, errors: list[ErrEntry]):
        self.gw, self.m, self.handler, self.ack, self.errors = gw, m, handler, ack, errors
        self.verdict = ack.value(ack.first("MSA"), 1)[1:]
        self.problems: list[str] = []
        self.outcome = ""

    def fail(self, text: str) -> None:
        self.problems.append(text)

    def run(self) -> None:
        if self.handler == "cancel":
            tag = self.m.value(self.m.first("QID"), 1)
            self.expect_errors([] if tag else [(101, "QID", 1)], "QID-1 names the query")
            self.outcome = "cancelled" if tag else "no query tag"
            return
        qpd = self.m.first("QPD")
        aqak, aqpd = self.ack.first("QAK"), self.ack.first("QPD")
        if qpd is None:
            self.expect_errors([(100, "", 0)], "no QPD")
            return
        if aqak is None or self.ack.field(aqak, 1) != self.m.field(qpd, 2):
            self.fail("QAK-1 is not the query tag (QPD-2)")
        def fields(seg: list[str] | None) -> str:  # trailing empty fields say nothing
            return "|".join(seg or []).rstrip("|")
        if aqpd is None or fields(aqpd) != fields(qpd):
            self.fail("the answer's QPD is not the query's, as sent")
        status = self.ack.value(aqak, 2) if aqak else ""
        pids = self.ack.all("PID")
        if self.verdict == "E":
            if status != "AE":
                self.fail(f"QAK-2 {status!r} with MSA-1 AE")
        elif status not in ("OK", "NF") or (status == "OK") != bool(pids):
            self.fail(f"QAK-2 {status!r} with {len(pids)} PID segments")
        (self.pdq if self.handler == "pdq" else self.pix)(qpd, status, pids)

    def expect_errors(self, expected: list[tuple[int, str, int]], why: str) -> None:
        """The answer is AE with exactly these (code, segment, field) ERRs, or AA without."""
        got = sorted((e.code, e.segment, e.field) for e in self.errors)
        if sorted(expected) != got or (self.verdict == "E") != bool(expected):
            self.fail(f"expected {'AE ' + str(sorted(expected)) if expected else 'AA'} ({why}), "
                      f"got {self.verdict} {got}")

    def domains(self, qpd: list[str], n: int) -> list[tuple[int, str]]:
        """QPD-n's repetitions that name a domain, as (repetition, system)."""
        out = []
        for r, rep in enumerate(self.m.reps(qpd, n), start=1):
            system = identifier_system(*(self.m.decode(self.m.part(rep, 4, s)) for s in (1, 2, 3)))
            if system:
                out.append((r, system))
        return out

    def unknown_domains(self, qpd: list[str], n: int) -> list[tuple[int, str, int]]:
        return [(204, "QPD", n) for _, system in self.domains(qpd, n)
                if not known_domain(self.gw, system)]

    def pdq(self, qpd: list[str], status: str, pids: list[list[str]]) -> None:
        m = self.m
        unknown = self.unknown_domains(qpd, 8)
        if unknown:
            self.expect_errors(unknown, "QPD-8 names a domain no patient has an identifier in")
            self.outcome = "unknown domain"
            return
        params: list[tuple[str, str]] = []
        groups: list[list[str]] = []  # @PID.3.1 value, then .4.1/.4.2/.4.3
        for r, rep in enumerate(m.reps(qpd, 3), start=1):
            field = m.code(qpd, 3, r, 1).upper().lstrip("@")
            while len(field) > 6 and field.endswith(".1"):
                field = field[:-2]
            value = m.value(qpd, 3, r, 2)
            if not field or not value:
                continue
            if field in ("PID.3", "PID.3.4", "PID.3.4.2", "PID.3.4.3"):
                part = {"PID.3": 0, "PID.3.4": 1, "PID.3.4.2": 2, "PID.3.4.3": 3}[field]
                if part == 0 or not groups or groups[-1][part]:
                    groups.append(["", "", "", ""])
                groups[-1][part] = value
                continue
            if field not in PDQ_FIELDS:
                self.expect_errors([(103, "QPD", 3)], f"the gateway cannot search on @{field}")
                self.outcome = f"@{field} is not searchable"
                return
            name = PDQ_FIELDS[field]
            if name == "birthdate":
                date = pdq_date(value)
                if date is None:
                    self.expect_errors([(102, "QPD", 3)], "the birth date is not an HL7 date")
                    self.outcome = "bad birth date"
                    return
                value = "eq" + date
            elif name == "gender":
                if value.upper() not in GENDER:
                    self.expect_errors([(103, "QPD", 3)], "the sex is not in table 0001")
                    self.outcome = "bad sex"
                    return
                value = GENDER[value.upper()]
            else:
                value = value.rstrip("*")
            params.append((name, token(value) if name not in ("birthdate", "gender") else value))
        for value, *authority in groups:
            system = identifier_system(*authority)
            if system or value:
                params.append(("identifier", f"{token(system)}|{token(value)}" if system
                               else token(value)))
        if not params:
            self.expect_errors([(101, "QPD", 3)], "QPD-3 names nothing to search on")
            self.outcome = "nothing to search on"
            return
        self.expect_errors([], "a search")
        domains = [system for _, system in self.domains(qpd, 8)]
        params.append(("active:not", "false"))
        if domains:
            params.append(("identifier", ",".join(f"{token(d)}|" for d in domains)))
        query = "&".join(f"{k}={v}" for k, v in params)
        total = count(self.gw, f"Patient?{query}")
        qak = self.ack.first("QAK")
        page = min(PDQ_PAGE, int(m.code(m.first("RCP"), 2) or PDQ_PAGE)
                   if m.code(m.first("RCP"), 2).isdigit() else PDQ_PAGE)
        if (status == "OK") != (total > 0) or len(pids) != min(total, page):
            self.fail(f"{len(pids)} PIDs ({status}), but Patient?{query} finds {total}")
        if self.ack.value(qak, 4) and self.ack.value(qak, 4) != str(total):
            self.fail(f"QAK-4 {self.ack.value(qak, 4)!r}: {total} patients match")
        if bool(self.ack.first("DSC")) != (total > page):
            self.fail(f"DSC {'present' if self.ack.first('DSC') else 'absent'} for {total} "
                      f"matches and {page} per answer")
        for pid in pids:
            keys = cx_keys(self.ack, pid, 3)
            if domains and any(k[0] not in domains for k in keys):
                self.fail(f"a PID lists identifiers outside QPD-8's domains: {keys}")
        self.outcome = f"{total} patients match Patient?{query}"

    def pix(self, qpd: list[str], status: str, pids: list[list[str]]) -> None:
        m = self.m
        unknown = self.unknown_domains(qpd, 4)
        if unknown:
            self.expect_errors(unknown, "QPD-4 names a domain no patient has an identifier in")
            self.outcome = "unknown domain"
            return
        keys = cx_keys(m, qpd, 3)[:1]
        if not m.value(qpd, 3):
            self.expect_errors([(101, "QPD", 3)], "QPD-3 has no identifier")
            self.outcome = "no identifier"
            return
        if not keys or keys[0][0] is None:
            self.expect_errors([(101, "QPD", 3)], "QPD-3 has no assigning authority")
            self.outcome = "no authority"
            return
        if not known_domain(self.gw, keys[0][0]):
            self.expect_errors([(204, "QPD", 3)], "no patient has an identifier in QPD-3's domain")
            self.outcome = "unknown authority"
            return
        holders = [p for p in with_identifier(self.gw, "Patient", keys[0])
                   if p.get("active") is not False]
        if not holders:
            self.expect_errors([(204, "QPD", 3)], "no active patient has the identifier")
            self.outcome = "unknown identifier"
            return
        self.expect_errors([], "the identifier is known")
        held = {(i.get("system"), i.get("value")) for p in holders for i in p.get("identifier", [])}
        listed = {k for pid in pids for k in cx_keys(self.ack, pid, 3)}
        if listed - held:
            self.fail(f"the PID lists identifiers the patient does not have: {listed - held}")
        self.outcome = f"{len(listed)} identifiers of {fmt(keys[0])}"


def explain(gw: GatewayProcess, m: V2, e: ErrEntry) -> str | None:
    """Why an AE the test did not predict is right, from the message's content; None when its
    ERR does not hold up."""
    seg = None
    if e.segment:
        occurrences = m.all(e.segment)
        seg = occurrences[(e.sequence or 1) - 1] if len(occurrences) >= (e.sequence or 1) else None
        if seg is None:
            return None
    if e.code == 101 and seg is not None and e.field and not m.has_value(seg, e.field):
        return f"{e.where()} has no value"
    if e.code in (102, 103) and seg is not None and e.field and m.has_text(seg, e.field):
        return f"{e.where()} is valued but not valid: {e.text}"
    if e.code == 100 and seg is not None:
        return f"{e.where()}: {e.text}"
    if e.code == 205:
        keys = [k for pid in m.all("PID") for k in cx_keys(m, pid, 3)]
        keys += [k for mrg in m.all("MRG") for k in cx_keys(m, mrg, 1)]
        shared = [k for k in keys if len(with_identifier(gw, "Patient", k)) > 1]
        if shared:
            return f"several stored Patients hold {fmt(shared[0])}: {e.text}"
        if e.segment == "OBX":
            return f"{e.where()}: {e.text}"
        if "belongs to another patient" in e.text and (other := foreign_order(gw, m)):
            return f"order {fmt(other)} is stored for another patient: {e.text}"
    return None


def foreign_order(gw: GatewayProcess, m: V2) -> tuple | None:
    """An order key of the message whose stored DiagnosticReport belongs to a Patient other
    than the one its PID identifies (docs/hl7v2.md: a message never moves a result between
    patients), or None."""
    for group in patient_groups(m):
        patients = {f"Patient/{p['id']}" for k in cx_keys(m, group[0], 3)
                    for p in with_identifier(gw, "Patient", k)}
        for key in oru_orders(m, group)[0]:
            for report in with_identifier(gw, "DiagnosticReport", key):
                if subject_of(report) not in patients:
                    return key
    return None


# ---- sending ----------------------------------------------------------------------------------

def rejected(answer: bytes) -> bool:
    """The answer is AR or CR ("send again"), so a resend is processed anew."""
    msa = next((seg for seg in answer.strip(b"\x0b\x1c\r").split(b"\r") if seg.startswith(b"MSA")),
               b"")
    return msa[4:6] in (b"AR", b"CR")


def without_header_ids(answer: bytes) -> bytes:
    """The answer without its own MSH-7 and MSH-10, which a new answer changes."""
    segments = answer.split(b"\r")
    fields = segments[0].split(b"|")
    for n in (6, 9):  # split index = MSH-n - 1 (MSH-1 is the separator itself)
        if len(fields) > n:
            fields[n] = b""
    return b"\r".join([b"|".join(fields)] + segments[1:])


def replays(first: bytes, again: bytes) -> bool:
    """A resend gets the answer its message stands with, byte for byte; a rejected one is
    processed again and gets the same rejection under an answer header of its own."""
    if rejected(first):
        return without_header_ids(first) == without_header_ids(again)
    return first == again


class Sender(hl7.client.MLLPClient):
    """python3-hl7's client; send() reads the whole answer frame (the library's returns what
    one recv() got, which a large or slow answer overruns)."""

    def send(self, data: bytes) -> bytes:
        self.socket.sendall(data)
        answer = b""
        while not answer.endswith(EB + CR):
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed after {len(answer)} answer bytes")
            answer += chunk
        return answer


def corpus_messages(directory: Path) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        parts = split_messages(path.read_bytes())
        for i, part in enumerate(parts):
            out.append((path.name + (f"#{i + 1}" if len(parts) > 1 else ""), part))
    return out


class CorpusRun:
    """The corpus sent on one connection to one daemon: every answer checked, the first answer
    to each (MSH-3, MSH-4, MSH-10) kept to compare reuses and resends with."""

    def __init__(self, gw: GatewayProcess, checks: Checks):
        self.gw, self.checks = gw, checks
        self.client = Sender("127.0.0.1", gw.mllp_port, encoding="latin-1")
        self.client.socket.settimeout(ANSWER_TIMEOUT_S)
        self.control_ids: set[str] = set()  # the answers' own MSH-10s
        self.first: dict[tuple, tuple[str, bytes, bytes]] = {}  # key -> (name, message, answer)
        self.renamed = 0
        self.families: set[str] = set()  # patient names that must not reach the log
        self.tally: dict[str, int] = {}
        self.errors: list[str] = []  # every AE, explained
        self.queries: list[tuple[str, V2]] = []  # to ask again once everything is stored

    def send(self, name: str, raw: bytes) -> None:
        m = V2(raw)
        key = m.header_key()
        if key not in self.first:
            self.first[key] = (name, raw, self.check(name, m))
            return
        first_name, first_raw, first_answer = self.first[key]
        if rejected(first_answer):
            # AR/CR means "send again": the reuse is processed as the message it is.
            self.first[key] = (name, raw, self.check(f"{name} (after {first_name}'s AR)", m))
            return
        again = self.client.send_message(raw)
        self.checks.check(f"{name}: reuses {'|'.join(key)} of {first_name}: gets its answer again",
                          again == first_answer, f"{again[:300]!r} != {first_answer[:300]!r}")
        if raw != first_raw:  # other content: check it under a control id of its own
            self.renamed += 1
            fresh = f"{key[2]}-R{self.renamed}"
            self.check(f"{name} (as {fresh})", V2(m.with_control_id(fresh)))

    def check(self, name: str, m: V2) -> bytes:
        """Sends `m`; checks its answer's form, its verdict and, after AA, the store."""
        exp = expect(m)
        if exp.handler in ("pdq", "pix"):
            self.queries.append((name.split(" (as ")[0], m))
        store = StoreCheck(self.gw, m, exp.handler, m.value(m.msh, 9, 1, 2))
        if exp.code == "AA":
            store.snapshot()
        frame = self.client.send_message(m.raw)
        problems, ack = check_answer(m, frame, self.control_ids)
        self.checks.check(f"{name}: the answer is well-formed", not problems, "; ".join(problems))
        for pid in m.all("PID"):
            self.families.update(f for r in range(1, len(m.reps(pid, 5)) + 1)
                                 if len(f := m.value(pid, 5, r, 1, 1)) >= 5)
        if ack is not None and ack.first("MSA") is not None:
            self.verdict(name, m, exp, ack, store)
        return frame

    def verdict(self, name: str, m: V2, exp: Expectation, ack: V2, store: StoreCheck) -> None:
        verdict = ack.value(ack.first("MSA"), 1)
        kind = verdict[1:]  # A, E or R in either mode
        errors = read_errors(m, ack)
        codes = {e.code for e in errors}
        summary = (f"{m.type_name()} v{m.value(m.msh, 12)} -> {verdict} "
                   + " ".join(f"{e.code}@{e.where()}" for e in errors))
        answer = ack.raw.decode("latin-1")
        self.tally[kind] = self.tally.get(kind, 0) + 1
        if exp.handler in ("pdq", "pix", "cancel") and kind != "R":
            query = QueryCheck(self.gw, m, exp.handler, ack, errors)
            query.run()
            self.checks.check(f"{name}: {summary} -> {query.outcome}", not query.problems,
                              "; ".join(query.problems) + f": {answer!r}")
            if kind == "E":
                self.errors.append(f"{name}: {summary}: {query.outcome}")
        elif exp.code == "AR":
            self.checks.check(f"{name}: {summary} (expected AR {sorted(exp.errors)}: {exp.why})",
                              kind == "R" and bool(exp.errors & codes), answer)
        elif kind == "R":
            self.checks.check(f"{name}: {summary}", False,
                              f"{exp.why}: expected AA or AE: {answer!r}")
        elif exp.errors:
            ok = kind == "E" and bool(exp.errors & codes)
            self.checks.check(f"{name}: {summary} (expected AE {sorted(exp.errors)}: required "
                              f"content missing)", ok, answer)
            if ok:
                self.errors.append(f"{name}: {summary}: {'; '.join(e.text for e in errors)}")
        elif kind == "E":
            reasons = [explain(self.gw, m, e) for e in errors]
            self.checks.check(f"{name}: {summary} (AE explained by its ERR)", all(reasons),
                              f"unexplained AE: {answer!r}")
            self.errors.append(f"{name}: {summary}: " + "; ".join(
                r or f"UNEXPLAINED {e.text}" for r, e in zip(reasons, errors)))
        else:
            store.run()
            self.checks.check(f"{name}: {summary} -> {', '.join(store.found) or 'nothing found'}",
                              not store.problems, "; ".join(store.problems))
            for warning in store.warnings:
                self.checks.warn(f"{name}: stored data stays with its patient", False, warning)

    def ask_again(self) -> None:
        """The corpus's queries come before most of its patients: each is asked again, under a
        control id of its own, of everything the corpus stored."""
        for name, m in list(self.queries):
            self.renamed += 1
            fresh = re.sub(r"-R\d+$", "", m.header_key()[2]) + f"-R{self.renamed}"
            self.check(f"{name} (again at the end, as {fresh})", V2(m.with_control_id(fresh)))

    def resend_all(self) -> None:
        replayed = [n for n, raw, answer in self.first.values()
                    if not replays(answer, self.client.send_message(raw))]
        self.checks.check(f"all {len(self.first)} messages sent again get their answer again "
                          "(byte for byte; a rejected one the same rejection anew)", not replayed,
                          ", ".join(replayed[:5]))

    def close(self) -> None:
        self.client.close()


def main() -> int:
    binary = binary_from_argv(sys.argv)
    corpus = Path(sys.argv[2]) if len(sys.argv) > 2 else default_shared_data() / "hl7v2" / "ipf"
    if not corpus.is_dir() or not any(corpus.iterdir()):
        print(f"SKIP: HL7v2 corpus not found at {corpus} (../shared/data is absent)")
        return SKIP
    messages = corpus_messages(corpus)
    files = len({name.split("#")[0] for name, _ in messages})
    print(f"{len(messages)} messages in {files} files from {corpus}")
    checks = Checks()
    started = time.monotonic()
    overrides = {"mllp": {"enabled": True, "port": 0}, "hl7": {"application_name": APPLICATION}}
    with GatewayProcess(binary, overrides, name="mllpcorpus") as gw:
        run = CorpusRun(gw, checks)
        for name, raw in messages:
            run.send(name, raw)
        run.ask_again()
        run.resend_all()
        run.close()
        leaked = sorted(f for f in run.families if f in gw.log_text())
        checks.check("the daemon's log holds no patient name", not leaked, ", ".join(leaked[:5]))
        checks.check("SIGTERM stops the daemon with 0", gw.stop() == 0, gw.log_tail())
    print(f"answers: {', '.join(f'{k}: {v}' for k, v in sorted(run.tally.items()))} "
          f"in {time.monotonic() - started:.1f} s")
    for line in run.errors:
        print(f"AE: {line}")
    return checks.summary()


if __name__ == "__main__":
    sys.exit(main())
