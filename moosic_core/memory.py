"""Handing freed heap memory back to the operating system.

Building the artist index or a taste profile makes many NumPy temporaries of 0.1-5 MB. glibc
serves such sizes from the heap once its dynamic mmap threshold has grown (it rises to the
size of each freed mapped block, up to 32 MB), and freed heap pages stay resident until
``malloc_trim`` returns them: about 10 MB of the serving process's RSS after each build
(measured with ``python -m benchmarks.rss_bench``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc ``malloc_trim(0)``, man 3
    malloc_trim). Returns whether anything could be asked; a no-op where libc lacks it."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
