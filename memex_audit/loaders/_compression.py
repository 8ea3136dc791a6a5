"""Compressed input: gzip and zstd files, and zip entries stored with zstd (method 93).

The standard library reads gzip and the zip methods ``stored`` and ``deflate``; Python before 3.14
cannot read zstd, which current Inspect ``.eval`` logs use for every entry. ``zstandard`` (a
dependency) decompresses those; when it is missing, the error says how to install it.

Two limits keep a small hostile file from taking the memory of the machine (a 1 MB zip entry can
inflate to a gigabyte): what one compressed file inflates to (``max_inflated_bytes``, 2 GiB unless
``MEMEX_AUDIT_MAX_INFLATED_BYTES`` says otherwise) and the size of one record read whole — a zip
entry, a JSON document, a JSONL line (``max_record_bytes``, 512 MiB unless
``MEMEX_AUDIT_MAX_RECORD_BYTES`` says otherwise). Going over either is a ``SizeLimitError`` that
names the limit and how to raise it.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import typing
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

INFLATED_LIMIT_VARIABLE = "MEMEX_AUDIT_MAX_INFLATED_BYTES"
RECORD_LIMIT_VARIABLE = "MEMEX_AUDIT_MAX_RECORD_BYTES"
DEFAULT_MAX_INFLATED_BYTES = 2 << 30
DEFAULT_MAX_RECORD_BYTES = 512 << 20
_CHUNK = 1 << 20


class SizeLimitError(OSError):
    """Input larger than a limit of this module: a compressed file that inflates too much, or a
    record too large to read whole. The message names the limit and the variable that raises it."""


def _limit(variable: str, default: int) -> int:
    value = os.environ.get(variable, "").strip().replace("_", "")
    if not value:
        return default
    try:
        return max(1, int(value))
    except ValueError:
        raise UsageError(f"{variable} must be a number of bytes, not {value!r}") from None


def max_inflated_bytes() -> int:
    """How many bytes one compressed file may inflate to (``MEMEX_AUDIT_MAX_INFLATED_BYTES``, default 2 GiB)."""
    return _limit(INFLATED_LIMIT_VARIABLE, DEFAULT_MAX_INFLATED_BYTES)


def max_record_bytes() -> int:
    """How large one record read whole may be (``MEMEX_AUDIT_MAX_RECORD_BYTES``, default 512 MiB)."""
    return _limit(RECORD_LIMIT_VARIABLE, DEFAULT_MAX_RECORD_BYTES)


def size_text(n: int) -> str:
    """``n`` bytes in words (``1.5 MiB``)."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n:,} bytes"  # pragma: no cover


def inflated_too_much(kind: str) -> SizeLimitError:
    """The error for a ``kind`` (gzip, zstd) stream that inflates past ``max_inflated_bytes``."""
    return SizeLimitError(
        f"this {kind} data inflates to more than {size_text(max_inflated_bytes())}, the limit on "
        f"decompressed input (a decompression bomb, or a very large file: raise the limit with "
        f"{INFLATED_LIMIT_VARIABLE}=<bytes>)"
    )


def record_too_large(what: str, size: int) -> SizeLimitError:
    """The error for a record of ``size`` bytes over ``max_record_bytes``."""
    return SizeLimitError(
        f"{what} is {size_text(size)}, more than {size_text(max_record_bytes())}, the limit on one "
        f"record read whole (raise it with {RECORD_LIMIT_VARIABLE}=<bytes>)"
    )


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
    """The content of ``path``, decompressed when it is a ``.gz`` / ``.zst`` file.

    Raises:
        SizeLimitError: It inflates past ``max_inflated_bytes``.
    """
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


def _reader(source: IO[bytes], kind: str) -> IO[bytes]:
    if kind == "gzip":
        return typing.cast(IO[bytes], gzip.GzipFile(fileobj=source))
    reader: IO[bytes] = _zstandard().ZstdDecompressor().stream_reader(source, read_across_frames=True)
    return reader


def _copy_capped(reader: IO[bytes], out: IO[bytes], kind: str) -> None:
    limit = max_inflated_bytes()
    written = 0
    while chunk := reader.read(_CHUNK):
        written += len(chunk)
        if written > limit:
            raise inflated_too_much(kind)
        out.write(chunk)


def decompress_to(source: IO[bytes], kind: str, target: Path) -> None:
    """Stream-decompress ``source`` (``gzip`` or ``zstd``) into the file ``target``.

    Raises:
        SizeLimitError: It inflates past ``max_inflated_bytes`` (``target`` is left partly written).
    """
    with target.open("wb") as out, _reader(source, kind) as reader:
        _copy_capped(reader, out, kind)


def decompress_bytes(data: bytes, kind: str) -> bytes:
    """Decompress a whole ``gzip`` or ``zstd`` buffer.

    Raises:
        SizeLimitError: It inflates past ``max_inflated_bytes``.
    """
    out = io.BytesIO()
    with _reader(io.BytesIO(data), kind) as reader:
        _copy_capped(reader, out, kind)
    return out.getvalue()


def read_zip_entry(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry of a zip archive, also when it is zstd-compressed (which ``zipfile`` cannot read).

    Raises:
        zipfile.BadZipFile: The entry's local header is damaged.
        SizeLimitError: The entry is larger than ``max_record_bytes`` (checked before inflating it).
        UsageError: The entry is zstd-compressed and ``zstandard`` is not installed.
    """
    info = archive.getinfo(name)
    if info.file_size > max_record_bytes():
        raise record_too_large(
            f"the entry {name} ({size_text(info.compress_size)} compressed)", info.file_size
        )
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
