"""Compressed input: gzip and zstd files, and zip entries stored with zstd (method 93).

The standard library reads gzip and the zip methods ``stored`` and ``deflate``; Python before 3.14
cannot read zstd, which current Inspect ``.eval`` logs use for every entry. ``zstandard`` (a
dependency) decompresses those; when it is missing, the error says how to install it.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import zipfile
from pathlib import Path
from typing import IO, Any

from memex_audit.errors import UsageError

ZIP_ZSTD = 93
"""The zip compression method number of Zstandard (APPNOTE 4.4.5)."""

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")
"""File endings read as compressed files: the name without it says the format."""

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_ORIGINS: dict[str, Path] = {}  # scratch copy of a decompressed file -> the compressed file


def register_origin(staged: Path, original: Path) -> None:
    """Record that ``staged`` is the decompressed copy of ``original`` (while it is being read)."""
    _ORIGINS[str(staged)] = original


def forget_origin(staged: Path) -> None:
    """Forget what ``register_origin`` recorded for ``staged``."""
    _ORIGINS.pop(str(staged), None)


def sibling(path: Path, name: str) -> Path | None:
    """The file ``name`` in the folder of ``path``, plain or compressed, when it exists.

    For the scratch copy of a decompressed file, the folder is that of the compressed original,
    so an adapter that reads companion files (a sub-agent's log beside its session) finds them.
    """
    original = _ORIGINS.get(str(path))
    folder = original.parent if original is not None else path.parent
    for candidate in (name, *(name + suffix for suffix in COMPRESSED_SUFFIXES)):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The content of ``path``, decompressed when it is a ``.gz`` / ``.zst`` file."""
    data = path.read_bytes()
    kind = compression_of(path, data[:8])
    return decompress_bytes(data, kind) if kind is not None else data


def _zstandard() -> Any:
    try:
        import zstandard
    except ImportError as exc:  # pragma: no cover - zstandard is a dependency
        raise UsageError(
            "reading zstd-compressed data needs the zstandard package: pip install zstandard"
        ) from exc
    return zstandard


def compression_of(path: Path, head: bytes) -> str | None:
    """``gzip`` or ``zstd`` when ``path`` is a compressed file (by its ending or first bytes), else ``None``."""
    name = path.name.lower()
    if name.endswith(".gz") or (head.startswith(GZIP_MAGIC) and not name.endswith(".eval")):
        return "gzip"
    if name.endswith((".zst", ".zstd")) or head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def inner_name(name: str) -> str:
    """The file name without its compression ending (``run.jsonl.gz`` → ``run.jsonl``)."""
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def decompress_to(source: IO[bytes], kind: str, target: Path) -> None:
    """Stream-decompress ``source`` (``gzip`` or ``zstd``) into the file ``target``."""
    with target.open("wb") as out:
        if kind == "gzip":
            with gzip.GzipFile(fileobj=source) as reader:
                shutil.copyfileobj(reader, out, 1 << 20)
        else:
            reader = _zstandard().ZstdDecompressor().stream_reader(source, read_across_frames=True)
            with reader:
                shutil.copyfileobj(reader, out, 1 << 20)


def decompress_bytes(data: bytes, kind: str) -> bytes:
    """Decompress a whole ``gzip`` or ``zstd`` buffer."""
    if kind == "gzip":
        return gzip.decompress(data)
    reader = _zstandard().ZstdDecompressor().stream_reader(data, read_across_frames=True)
    with reader:
        return bytes(reader.read())


def read_zip_entry(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry of a zip archive, also when it is zstd-compressed (which ``zipfile`` cannot read).

    Raises:
        zipfile.BadZipFile: The entry's local header is damaged.
        UsageError: The entry is zstd-compressed and ``zstandard`` is not installed.
    """
    info = archive.getinfo(name)
    if info.compress_type != ZIP_ZSTD:
        return archive.read(name)
    fp = archive.fp
    if fp is None:
        raise zipfile.BadZipFile("the archive is closed")
    fp.seek(info.header_offset)
    header = fp.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"bad local file header for {name}")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[-2], fields[-1]
    fp.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    compressed = fp.read(info.compress_size)
    if len(compressed) != info.compress_size:
        raise zipfile.BadZipFile(f"{name} is truncated")
    decompressor = _zstandard().ZstdDecompressor()
    try:
        data = decompressor.decompress(compressed, max_output_size=info.file_size)
    except _zstandard().ZstdError as exc:
        raise zipfile.BadZipFile(f"{name}: bad zstd data ({exc})") from exc
    if len(data) != info.file_size:
        raise zipfile.BadZipFile(f"{name}: expected {info.file_size} bytes, got {len(data)}")
    return bytes(data)
