#!/usr/bin/env python3
"""Run a command and record the CPU it used.

    timed.py CPU_FILE COMMAND [ARG ...]

The command's stdout and stderr pass through; its exit status is ours. CPU_FILE receives the
command's user + system CPU seconds (children included), as one number.
"""

import resource
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: timed.py CPU_FILE COMMAND [ARG ...]")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    rc = subprocess.call(sys.argv[2:])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(sys.argv[1], "w") as f:
        f.write(f"{used:.4f}\n")
    sys.exit(rc)


if __name__ == "__main__":
    main()
