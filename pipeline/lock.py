"""The build lock: one build per output folder, shared by the ranks of that build (DESIGN §7).

Each running rank holds `DIR/_progress/lock/rank-RRRRR-of-WWWWW.json` (host, pid, start time,
recipe hash, heartbeat). A rank may start when every live lock in the folder belongs to the
same build (same recipe hash, same world size) and none holds its own rank; otherwise it
fails at once, naming the holder. A lock is stale, and is removed with a note, when its
process is gone (same host, pid not running) or its heartbeat is older than
`STALE_AFTER_S` (another host: a killed node cannot clean up after itself).

On a local disk the lock file is created with `os.link`, which fails if the name exists, so
two ranks racing for one name cannot both win. Object stores have no exclusive create; there
the check-then-write leaves a window of one round trip.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import datetime, timezone

import fsspec
from fsspec.implementations.local import LocalFileSystem
from pydantic import BaseModel

from ahnpl.atomic import temporary_name, write_json_atomic
from ahnpl.shards.layout import PROGRESS_DIR
from ahnpl.shards.manifest import join

LOCK_DIR = f"{PROGRESS_DIR}/lock"
HEARTBEAT_S = 60.0
STALE_AFTER_S = 15 * 60.0


class LockHeld(RuntimeError):
    """Another build (or the same rank of this build) is running into the folder."""


class LockInfo(BaseModel):
    host: str
    pid: int
    started: str  # ISO 8601, UTC
    heartbeat: str
    rank: int
    world: int
    recipe_hash: str

    def describe(self) -> str:
        return (
            f"rank {self.rank}/{self.world} on host {self.host}, pid {self.pid}, "
            f"started {self.started}"
        )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _age_s(stamp: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(stamp)).total_seconds()


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


class BuildLock:
    """Hold this rank's lock for the duration of a `with` block."""

    def __init__(self, out: str, rank: int, world: int, recipe_hash: str):
        self.out = out.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.out)
        self.name = f"{LOCK_DIR}/rank-{rank:05d}-of-{world:05d}.json"
        now = _now()
        self.info = LockInfo(
            host=socket.gethostname(),
            pid=os.getpid(),
            started=now,
            heartbeat=now,
            rank=rank,
            world=world,
            recipe_hash=recipe_hash,
        )
        self.notes: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> BuildLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        """Take this rank's lock; stale locks are removed and noted in `self.notes`.

        Raises:
            LockHeld: a live lock of another build, or of this rank, is in the folder.
        """
        folder = join(self.base, LOCK_DIR)
        self.fs.makedirs(folder, exist_ok=True)
        for path in sorted(self.fs.ls(folder, detail=False)):
            if path.endswith(".json"):
                self._check_other(path)
        self._create()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="ahnpl-lock")
        self._thread.start()

    def _check_other(self, path: str) -> None:
        try:
            with self.fs.open(path, "r", encoding="utf-8") as f:
                other = LockInfo.model_validate(json.load(f))
        except (ValueError, OSError):
            return  # written by no ahnpl build, or vanished meanwhile: not a lock
        if self._is_stale(other):
            self.notes.append(
                f"removed a stale lock ({other.describe()}): that build stopped without "
                "cleaning up; resuming its work"
            )
            self.fs.rm(path)
            return
        same_build = other.recipe_hash == self.info.recipe_hash and other.world == self.info.world
        if not same_build or other.rank == self.info.rank:
            what = "another build" if not same_build else f"rank {other.rank} of this build"
            raise LockHeld(
                f"{self.out} is being built by {what} ({other.describe()}); wait for it to "
                f"finish or stop it (a lock of a stopped build is removed after "
                f"{STALE_AFTER_S / 60:.0f} min without heartbeat)"
            )

    def _is_stale(self, other: LockInfo) -> bool:
        if other.host == self.info.host:
            return other.pid == self.info.pid or not _pid_running(other.pid)
        return _age_s(other.heartbeat) > STALE_AFTER_S

    def _create(self) -> None:
        path = join(self.base, self.name)
        payload = self.info.model_dump(mode="json")
        if not isinstance(self.fs, LocalFileSystem):
            write_json_atomic(join(self.out, self.name), payload)
            return
        tmp = temporary_name(path)
        write_json_atomic(tmp, payload)
        try:
            os.link(tmp, path)  # exclusive: fails when another rank got there first
        except FileExistsError:
            raise LockHeld(
                f"{self.out} is being built by another process (rank {self.info.rank} started "
                "twice at once); wait for it to finish or stop it"
            ) from None
        finally:
            os.unlink(tmp)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.info.heartbeat = _now()
            try:
                write_json_atomic(join(self.out, self.name), self.info.model_dump(mode="json"))
            except OSError:
                pass  # a missed heartbeat only makes the lock look older

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        path = join(self.base, self.name)
        if self.fs.exists(path):
            self.fs.rm(path)
