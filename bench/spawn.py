"""``python -I -S bench/spawn.py RESULT ARGV...``: run ARGV, write its wall time and peak RSS.

A tiny launcher between the bench and each measured command. A child's ``ru_maxrss`` on Linux
is at least the resident size its parent had when it was spawned (``exec`` keeps the old memory's
high-water mark), and the bench holds whole workloads in memory (B-floor's prebuilt tar): spawned
from this small process instead, the command's peak RSS is its own. The wall time is taken here,
spawn to reap, so this launcher's own start-up is not in it. Standard library only, no site.
"""

import json
import os
import sys
import time


def main() -> int:
    result, argv = sys.argv[1], sys.argv[2:]
    started = time.time()
    begin = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - begin
    ended = time.time()
    code = os.waitstatus_to_exitcode(status)
    measured = {"code": code, "wall": wall, "maxrss_kib": usage.ru_maxrss}
    with open(result, "w") as out:
        json.dump({**measured, "started": started, "ended": ended}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
