"""Benchmarks of the drift engine; see README.md.

Every benchmark process runs on one core. The thread limits only work if they are set
before numpy loads its BLAS, and ``python -m bench.<module>`` imports this package before
the module, so this is where they are set.
"""

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
