"""Runs a peer bench script and adds memory figures to its ONE JSON object (under "env").

Usage: peak_rss.py SCRIPT [SCRIPT ARGS...]

  env.baseline_rss_bytes  resident set size after `import torch`, before the script runs (what the interpreter and
                          torch cost on their own);
  env.peak_rss_bytes      the process's peak resident set size (getrusage ru_maxrss) when the script has finished.

The script runs as __main__ in this process with its own directory first on sys.path, as `python3 SCRIPT` would.
Run one case per process to attribute the peak to that case.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import runpy
import sys

import torch  # noqa: F401  (imported first so the baseline includes it)


def current_rss_bytes() -> int:
    """Resident set size now, from /proc/self/statm (pages)."""
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def main() -> None:
    if len(sys.argv) < 2:
        print(f'{sys.argv[0]}: usage: peak_rss.py SCRIPT [ARGS...]', file=sys.stderr)
        sys.exit(2)
    script = os.path.abspath(sys.argv[1])
    baseline = current_rss_bytes()
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(script))
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        runpy.run_path(script, run_name='__main__')
    report = json.loads(captured.getvalue())
    report.setdefault('env', {}).update(
        baseline_rss_bytes=baseline,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB on Linux
    )
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
