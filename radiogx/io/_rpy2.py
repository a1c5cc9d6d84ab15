"""rpy2 imported without side effects on this Python's later subprocesses.

Importing rpy2 starts the embedded R, which prepends R's library folders and the system's (``/usr/lib/R/lib``,
``/usr/lib/x86_64-linux-gnu``) to ``LD_LIBRARY_PATH`` in ``os.environ``. Every process started afterwards inherits it,
and a Python that is not the system's (pyenv, conda) then loads the system's ``libpython`` in its joblib workers and
subprocesses, which fail (``'_thread.RLock' object has no attribute '_recursion_count'`` with pyenv 3.11.7 on
Debian 12). The embedded R has loaded its libraries by then, so the variable is put back as it was.
"""

from __future__ import annotations

import os

__all__ = ["import_rpy2"]


def import_rpy2():
    """``rpy2.robjects``, with ``LD_LIBRARY_PATH`` as it was before R started in this process."""
    saved = os.environ.get("LD_LIBRARY_PATH")
    import anndata2ri  # noqa: F401 - imports rpy2 too; both before restoring
    from rpy2 import robjects

    if saved is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = saved
    return robjects
