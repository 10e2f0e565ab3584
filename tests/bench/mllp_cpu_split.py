#!/usr/bin/python3
"""Where the gateway's CPU goes per HL7v2 message: splits a `perf record --call-graph dwarf`
profile of the daemon under MLLP ingest into stages by the frames on each sample's stack
(first rule that matches wins). Samples of the messages.db writer thread (the group-commit
thread whose stacks never run a FHIR transaction) are listed apart.

    perf record -q --call-graph dwarf,16384 -F 499 -p <gateway pid> -o ingest.data -- sleep 5
    # ... while mllp_load runs against the gateway ...
    /usr/bin/python3 tests/bench/mllp_cpu_split.py ingest.data [CPU us per message]

With the CPU time per message (mllp_bench.py's "CPU us/msg"), each share is also given in
microseconds. docs/benchmarks.md (issue 4) has the figures this produced.
"""

import collections
import subprocess
import sys

RULES = [
    ("checkpoint (WAL pages copied into the .db)", ("sqlite3WalCheckpoint",)),
    ("fdatasync", ("__x64_sys_fdatasync",)),
    ("commit: WAL frames written", ("sqlite3PagerCommitPhaseOne", "sqlite3WalFrames")),
    ("thread hand-offs (futex, scheduler)", ("__x64_sys_futex", "__schedule", "finish_task_switch")),
    # Outside commit and checkpoint, file writes of the writer are SQLite's savepoint
    # sub-journal (a temp file in /var/tmp once it outgrows 64 KiB).
    ("savepoint sub-journal (temp file)", ("__x64_sys_pwrite64", "__x64_sys_openat", "sqlite3OsClose",
                                           "__x64_sys_close", "__x64_sys_unlink")),
    ("conditional update: search by identifier", ("find_matches",)),
    ("index extraction (FHIRPath)", ("index_resource", "index_for")),
    ("index rows into SQLite", ("IndexRowWriter", "replace_index")),
    ("resource + version rows", ("VersionWriter",)),
    ("transaction, savepoints, other store work", ("execute_transaction", "GroupCommitWriter::run",
                                                   "plan_transaction")),
    ("HL7 -> FHIR mapping, structure check", ("map_patient", "TransactionBuilder", "check_structure",
                                              "store_bundle", "store_patient")),
    ("duplicate check (archive lookup)", ("find_by_key", "MessageArchive::find")),
    ("HL7 parse, header, ACK, receiver", ("hl7v2::parse", "MessageReceiver")),
    ("MLLP I/O (asio, sockets, epoll)", ("Mllp", "asio", "epoll", "sys_sendto", "sys_recvfrom",
                                         "sys_sendmsg", "sys_recvmsg", "sys_write", "sys_read")),
    ("thread hand-offs (futex, scheduler)", ("futex", "pthread_cond")),
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = subprocess.run(["perf", "script", "-i", sys.argv[1], "-F", "tid,ip,sym"],
                         capture_output=True, text=True, check=True).stdout
    cpu_us = float(sys.argv[2]) if len(sys.argv) > 2 else None
    blocks = [b for b in out.split("\n\n") if b.strip()]

    def tid(block):
        return block.split()[0]

    writers = {tid(b) for b in blocks if "GroupCommitWriter::run" in b}
    archive_writer = writers - {tid(b) for b in blocks if "execute_transaction" in b}
    split = {"MLLP, receiver, clinical store": collections.Counter(),
             "messages.db writer thread": collections.Counter()}
    for block in blocks:
        stage = next((name for name, keys in RULES if any(k in block for k in keys)), "other")
        part = "messages.db writer thread" if tid(block) in archive_writer else "MLLP, receiver, clinical store"
        split[part][stage] += 1
    total = len(blocks)
    print(f"{total} samples")
    for part, counts in split.items():
        print(f"-- {part}: {sum(counts.values()) / max(total, 1):.1%}")
        for stage, n in counts.most_common():
            us = f"  ~{n / total * cpu_us:.0f} us/msg" if cpu_us else ""
            print(f"   {n / total:6.1%}  {stage}{us}")


if __name__ == "__main__":
    main()
