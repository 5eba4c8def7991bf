"""Atomic writes leave the old file or the new one, never a temporary file."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess

import pytest

from lrkit._io import (
    ChecksumError,
    WriteError,
    atomic_file,
    read_checked,
    verify_checksum,
    write_checked,
    write_text,
)


def test_an_error_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError), atomic_file(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640


def test_only_write_modes_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="mode must be"), atomic_file(tmp_path / "x", "a"):
        pass


# -- durability: fsync the file before the rename, the folder after it -------------------


def test_the_file_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    import stat

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(src, dst) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_text(tmp_path / "a.txt", "x" * 10_000)
    assert events == ["fsync file", "rename", "fsync folder"]
    assert (tmp_path / "a.txt").read_text() == "x" * 10_000


# -- failed writes name the user's path and leave nothing behind -------------------------


class _FullDisk:
    """A file whose writes fail as on a full disk."""

    def __init__(self, fh) -> None:
        self._fh = fh

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def _full_disk(monkeypatch) -> None:
    import lrkit._io

    real = os.fdopen
    monkeypatch.setattr(lrkit._io.os, "fdopen", lambda *a, **k: _FullDisk(real(*a, **k)))


def test_a_full_disk_gives_a_write_error_naming_the_target(tmp_path, monkeypatch):
    target = write_text(tmp_path / "out.txt", "old")
    _full_disk(monkeypatch)
    with pytest.raises(WriteError) as info:
        write_text(target, "new")
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert str(info.value) == f"cannot write {target}: {os.strerror(errno.ENOSPC)}"
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_torch_save_on_a_full_disk_gives_the_os_error_not_torchs(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _full_disk(monkeypatch)
    target = tmp_path / "ckpt.pt"
    with pytest.raises(WriteError, match="No space left"), atomic_file(target, "wb") as fh:
        torch.save({"w": torch.zeros(1000)}, fh)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_wraps_the_os_error_still_gives_it(tmp_path, monkeypatch):
    # some writers (torch's zip writer in some versions, plot backends) turn the file's
    # OSError into an error of their own; the recorded OSError is what gets raised
    def save(fh) -> None:
        try:
            fh.write(b"x" * 100)
        except OSError as exc:
            raise RuntimeError(f"PytorchStreamWriter failed writing file: {exc}") from None

    _full_disk(monkeypatch)
    target = tmp_path / "ckpt.pt"
    with pytest.raises(WriteError) as info, atomic_file(target, "wb") as fh:
        save(fh)
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert list(tmp_path.iterdir()) == []


def test_torch_save_and_load_go_through_the_atomic_file(tmp_path):
    torch = pytest.importorskip("torch")
    target = tmp_path / "ckpt.pt"
    with atomic_file(target, "wb") as fh:
        torch.save({"w": torch.arange(5.0)}, fh)
    assert torch.load(target)["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_parent_that_is_a_file_gives_a_write_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(WriteError) as info:
        write_text(blocker / "sub" / "a.txt", "x")
    assert info.value.errno in (errno.ENOTDIR, errno.EEXIST)
    assert info.value.filename == str(blocker / "sub" / "a.txt")


# -- checksummed files -------------------------------------------------------------------


def test_checked_files_round_trip_and_match_sha256sum(tmp_path):
    path = write_checked(tmp_path / "ckpt.bin", b"\x00weights\xff" * 100)
    assert read_checked(path) == b"\x00weights\xff" * 100
    assert verify_checksum(path) is None
    # the sidecar is sha256sum's format: digest, two spaces, the file name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert (tmp_path / "ckpt.bin.sha256").read_text() == f"{digest}  ckpt.bin\n"
    if shutil.which("sha256sum"):
        done = subprocess.run(
            ["sha256sum", "-c", "ckpt.bin.sha256"], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0 and "OK" in done.stdout


def test_a_flipped_byte_is_caught(tmp_path):
    path = write_checked(tmp_path / "ckpt.bin", bytes(range(256)) * 4)
    raw = bytearray(path.read_bytes())
    raw[500] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(ChecksumError, match=r"ckpt.bin is corrupt: its SHA-256 is [0-9a-f]{64}"):
        read_checked(path)
    with pytest.raises(ChecksumError, match="corrupt"):
        verify_checksum(path)


def test_a_missing_or_malformed_sidecar_is_an_error_not_a_pass(tmp_path):
    path = write_checked(tmp_path / "ckpt.bin", b"data")
    sidecar = tmp_path / "ckpt.bin.sha256"
    sidecar.write_text("not a digest\n")
    with pytest.raises(ChecksumError, match="malformed"):
        read_checked(path)
    sidecar.unlink()
    with pytest.raises(ChecksumError, match=r"no checksum file ckpt\.bin\.sha256"):
        verify_checksum(path)
    with pytest.raises(FileNotFoundError):
        read_checked(tmp_path / "absent.bin")
    with pytest.raises(TypeError, match="bytes"):
        write_checked(tmp_path / "x.bin", "text")  # type: ignore[arg-type]
