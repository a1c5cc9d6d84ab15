"""One ``radiogx run`` per output folder: a lock file that names the run holding it, taken over when its process died."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from .._logging import logger
from ._schema import ConfigError

__all__ = ["RunLock", "FolderInUse"]


class FolderInUse(ConfigError):
    """Another run holds the output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


class RunLock:
    """``<out>/.radiogx/run.lock``, created atomically (``O_CREAT | O_EXCL``) with the holder's pid, host, start time
    and config, and removed when the run ends. A second run on the folder is refused with a message naming the
    holder; a lock whose process no longer exists on this host is taken over, with a warning. A lock from another
    host cannot be checked, so it is refused with the file to delete when that run is known to be gone."""

    def __init__(self, out: Path, config: str) -> None:
        self.path = Path(out) / ".radiogx" / "run.lock"
        self.config = config
        self.held = False

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
              "config": self.config}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if not holder:  # being written by its creator, or damaged: look again
                    time.sleep(0.2)
                    holder = self._holder()
                pid, host = holder.get("pid"), holder.get("host")
                if isinstance(pid, int) and host == me["host"] and not _alive(pid):
                    logger.warning(f"run: taking over {self.path}, left by run {pid} (started {holder.get('started')}), "
                                   "which is no longer running; its stored steps are reused")
                    self.path.unlink(missing_ok=True)
                    continue
                if not holder and not self.path.exists():
                    continue
                where = f"on host {host}" if host != me["host"] else "on this host"
                raise FolderInUse(
                    f"output folder {self.path.parent.parent} is in use by another radiogx run (pid {pid} {where}, "
                    f"started {holder.get('started', '?')}, config {holder.get('config', '?')}); wait for it to end or "
                    f"pass another --out" + (f". If that run is gone, delete {self.path}" if host != me["host"] else ""))
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return
        raise FolderInUse(f"could not take the lock {self.path}; try again")

    def release(self) -> None:
        if self.held:
            holder = self._holder()
            if holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
