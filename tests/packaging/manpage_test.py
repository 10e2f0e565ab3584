#!/usr/bin/python3
"""The man page (packaging/clinic-gateway.8) keeps up with the binary's commands.

    tests/packaging/manpage_test.py CLINIC_GATEWAY MANPAGE

Every command `clinic-gateway help` lists (the first word of each usage line, and the
sub-command of `hl7`, `user`, `client`, `audit`) has an entry in the man page, and
`man --warnings` renders the page without a groff warning (what lintian checks too).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path


def commands(usage: str) -> set[str]:
    found = set()
    for line in usage.splitlines():
        m = re.match(r"^  ([a-z][a-z0-9-]*)(?: ([a-z][a-z|-]*))?", line)
        if m:
            found.add(m.group(1))
    return found


def main() -> int:
    binary, page = sys.argv[1], Path(sys.argv[2])
    usage = subprocess.run([binary, "help"], capture_output=True, text=True, check=True).stdout
    text = page.read_text()
    entries = set(re.findall(r"^\.B ([a-z][a-z0-9\\-]*)", text, re.M))
    entries = {e.replace("\\-", "-") for e in entries}
    missing = sorted(c for c in commands(usage) if c not in entries)
    if missing:
        print(f"{page}: no entry for {', '.join(missing)}")
        return 1
    if shutil.which("man"):
        render = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(page)],
                                capture_output=True, text=True,
                                env={"LC_ALL": "C.UTF-8", "MANWIDTH": "80", "PATH": "/usr/bin:/bin"})
        if render.stderr.strip():
            print(f"{page}: groff warnings:\n{render.stderr}")
            return 1
    print(f"{page}: all {len(commands(usage))} commands have an entry, no groff warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
