"""Run a command and report its peak RSS (with its last JSON line of output) as JSON.

This process has exactly one child, so RUSAGE_CHILDREN's max RSS is that child's own
(or that of its largest reaped descendant, such as Prefect's server).
"""

import json
import resource
import subprocess
import sys

process = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True, check=False)
if process.returncode != 0:
    sys.exit(process.returncode)
inner = None
for line in reversed(process.stdout.strip().splitlines()):
    try:
        inner = json.loads(line)
        break
    except ValueError:
        continue
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"peak_rss_mb": peak_mb, "inner": inner}))
