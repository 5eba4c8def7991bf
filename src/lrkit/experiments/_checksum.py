"""Checkpoints with a sha256 beside them, so that a flipped byte is never resumed silently.

``write_checksummed(path, data)`` writes ``data`` atomically, then ``path.sha256``
(``"<hex digest>  <file name>"``, the format ``sha256sum -c`` reads).
``verify_checksum(path)`` says what is wrong, or ``""``. A crash between the two
writes leaves a digest that does not match: the trial reruns, nothing is trusted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .._io import atomic_file, write_text

__all__ = ["checksum_path", "verify_checksum", "write_checksummed"]


def checksum_path(path: str | Path) -> Path:
    """Where the sha256 of ``path`` is kept: ``path`` + ``.sha256``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_checksummed(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, then its sha256 to :func:`checksum_path`."""
    path = Path(path)
    with atomic_file(path, "wb") as fh:
        fh.write(data)
    write_text(checksum_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def verify_checksum(path: str | Path) -> str:
    """``""`` when ``path`` matches its stored sha256, else why not (one phrase).

    Example:
        >>> import tempfile
        >>> target = Path(tempfile.mkdtemp()) / "c.pt"
        >>> write_checksummed(target, b"weights")
        >>> verify_checksum(target)
        ''
        >>> _ = target.write_bytes(b"weightz")
        >>> verify_checksum(target)
        'does not match its sha256 (corrupt)'
    """
    path = Path(path)
    digest_file = checksum_path(path)
    if not digest_file.exists():
        return "has no sha256 beside it"
    stored = digest_file.read_text().split()
    if not stored or hashlib.sha256(path.read_bytes()).hexdigest() != stored[0]:
        return "does not match its sha256 (corrupt)"
    return ""
