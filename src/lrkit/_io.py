"""Atomic, durable file writes: a reader sees the old file or the new one, never half of one.

Every file lrkit writes (run folders, checkpoints, plots, CSV/JSON exports, the
dataset cache) goes through :func:`atomic_file`, so Ctrl-C, a crash or a full disk
mid-write leaves nothing half-written and no temporary file behind. The data is
flushed to the disk (``fsync``) before the rename and the folder after it, so a
power loss leaves the old file or the new one as well.

A failed write raises :class:`WriteError`, an ``OSError`` that names the file the
caller asked for (not the temporary file) and the operating system's reason, even
when the writer in the block (``torch.save``, a plot backend) wrapped the
``OSError`` in an exception of its own.

:func:`write_checked` / :func:`read_checked` add a SHA-256 sidecar for files whose
silent corruption would give silently different results (checkpoints).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ChecksumError",
    "WriteError",
    "atomic_file",
    "read_checked",
    "remove_stale_temps",
    "verify_checksum",
    "write_checked",
    "write_text",
]

SIDECAR_SUFFIX = ".sha256"


class WriteError(OSError):
    """Writing ``filename`` failed; ``errno``/``strerror`` are the operating system's.

    ``str(error)`` is one line: ``cannot write PATH: REASON``.
    """

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


class ChecksumError(ValueError):
    """A file does not match its SHA-256 sidecar, or the sidecar is missing or malformed."""


class _Recording:
    """A file proxy that remembers the ``OSError`` of a failed write or flush.

    Writers such as ``torch.save`` turn the ``OSError`` of the file object they were
    given into an exception of their own; the recorded one says what really happened.
    """

    def __init__(self, fh: IO[Any]) -> None:
        self._fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self._fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self._fh.flush()
        except OSError as exc:
            self.error = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fh)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it over ``path`` when the block ends.

    Parent folders are created. When the block ends, the file is flushed and
    ``fsync``-ed, renamed over ``path`` (``os.replace``, atomic on POSIX and
    Windows), and the folder is ``fsync``-ed so that the rename itself survives a
    power loss. If anything fails or the block raises (``KeyboardInterrupt``
    included) the temporary file is removed and ``path`` is left as it was.

    Raises:
        ValueError: ``mode`` is not ``"w"`` or ``"wb"``.
        WriteError: the operating system refused a step (no space, read-only file
            system, no permission, a parent that is a file...); it names ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_file(target, "w") as fh:
        ...     _ = fh.write("done")
        >>> target.read_text()
        'done'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _write_error(target, exc) from exc
    fh = os.fdopen(fd, mode, newline=None if "b" in mode else "")
    recording = _Recording(fh)
    try:
        with fh:
            yield recording  # type: ignore[misc]
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; honour the user's umask
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        cause = exc if isinstance(exc, OSError) else recording.error
        if cause is not None:
            raise _write_error(target, cause) from exc
        raise
    try:
        _fsync_folder(target.parent)
    except OSError as exc:
        raise _write_error(target, exc) from exc


def remove_stale_temps(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that :func:`atomic_file` left in ``folder``.

    A writer killed mid-write (``kill -9``, a worker ended by its pool) cannot remove
    its ``.NAME.XXXXXXXX.tmp`` file; the final file was never replaced, so the
    temporary one is garbage. Call this only on a folder whose writers have all
    ended (the run folder's owner, before or after a run).

    Returns:
        The paths removed (none when ``folder`` does not exist).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / ".ckpt.pt.abc123.tmp").write_bytes(b"half")
        >>> _ = (folder / "ckpt.pt").write_bytes(b"whole")
        >>> [p.name for p in remove_stale_temps(folder)], sorted(p.name for p in folder.iterdir())
        (['.ckpt.pt.abc123.tmp'], ['ckpt.pt'])
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.glob(".*.tmp")):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _write_error(target: Path, exc: OSError) -> WriteError:
    if isinstance(exc, WriteError):
        return exc
    return WriteError(exc.errno, exc.strerror or str(exc), str(target))


def _fsync_folder(folder: Path) -> None:
    """``fsync`` a folder so that a rename in it is on the disk (POSIX; a no-op elsewhere)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # folders cannot be opened (Windows): the rename is as durable as it gets
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise  # EINVAL & co.: this file system has no folder fsync; nothing to do
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_file(path, "w") as fh:
        fh.write(text)
    return Path(path)


# -- checksummed files ----------------------------------------------------------------


def write_checked(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` and its SHA-256 to ``path + ".sha256"``, both atomically.

    The sidecar is one line in ``sha256sum`` format (``HEXDIGEST  NAME``), so
    ``sha256sum -c out.pt.sha256`` checks it too. The data is written first: a crash
    between the two writes leaves a new file with the old digest, which
    :func:`read_checked` reports as a mismatch (never a silent pass).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        TypeError: ``data`` is not bytes-like.
        WriteError: writing either file failed.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "state.bin"
        >>> _ = write_checked(path, b"weights")
        >>> read_checked(path)
        b'weights'
        >>> path.with_name("state.bin.sha256").read_text().split()[1]
        'state.bin'
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    path = Path(path)
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    digest = hashlib.sha256(data).hexdigest()
    write_text(_sidecar(path), f"{digest}  {path.name}\n")
    return path


def read_checked(path: str | os.PathLike[str]) -> bytes:
    """Read ``path`` and return its bytes once they match the SHA-256 in its sidecar.

    The digest is computed on the very bytes returned (one read), so a file that
    changes between the check and the read cannot slip through.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ChecksumError: the sidecar is missing or malformed, or the digest differs
            (the message names the file and both digests).
    """
    path = Path(path)
    data = path.read_bytes()
    _compare(path, hashlib.sha256(data).hexdigest())
    return data


def verify_checksum(path: str | os.PathLike[str]) -> None:
    """Return ``None`` if ``path`` matches its SHA-256 sidecar; raise otherwise.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ChecksumError: as :func:`read_checked`.
    """
    path = Path(path)
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    _compare(path, digest.hexdigest())


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _compare(path: Path, actual: str) -> None:
    sidecar = _sidecar(path)
    try:
        text = sidecar.read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        raise ChecksumError(f"{path}: no checksum file {sidecar.name}") from None
    fields = text.split()
    expected = fields[0].lower() if fields else ""
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ChecksumError(f"{path}: malformed checksum file {sidecar.name}")
    if expected != actual:
        raise ChecksumError(
            f"{path} is corrupt: its SHA-256 is {actual}, {sidecar.name} says {expected}"
        )
