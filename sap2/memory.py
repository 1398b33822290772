"""Peak memory of this process, as the recipes report it (resident set size)."""

import resource
import sys


def peak_memory_gb() -> float:
    """The largest resident set size this process has had, in GB (10^9 bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024) / 1e9
