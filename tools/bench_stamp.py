"""What tools/bench and tools/bench-dataplane stamp their Markdown with:
when, what and where a run measured (date, commit, kernel, CPU)."""
import os
import subprocess
import time


def stamp(root):
    commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    cpu = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return "%s, commit %s, kernel %s, %s (%d cores)" % (
        time.strftime("%Y-%m-%d"), commit or "?", os.uname().release, cpu, os.cpu_count() or 0)
