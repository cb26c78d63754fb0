"""A ZIP archive written as a stream of byte chunks, one member after another.

zipfile can write to an unseekable sink (it then uses data descriptors), so a member's
bytes leave the server while the next rows are still being read: memory stays flat
however large the archive grows.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import IO, cast

# Flush to the client once this much compressed output has piled up.
_CHUNK = 64 * 1024


class _Sink:
    """The unseekable file zipfile writes to; we drain it between writes."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


class ZipStream:
    """Add members with `member(name, chunks)`, which yields the archive's bytes as it goes.

    Use as: ``yield from z.member(...)`` for each member, then ``yield from z.close()``.
    """

    def __init__(self, when: datetime | None = None) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(cast(IO[bytes], self._sink), "w", zipfile.ZIP_DEFLATED)
        stamp = when or datetime(1980, 1, 1)
        self._date_time = (
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
        )

    def member(self, name: str, chunks: Iterable[bytes], *, large: bool = False) -> Iterator[bytes]:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        # A member of unknown size over 2 GiB needs ZIP64 headers up front.
        with self._zip.open(info, "w", force_zip64=large) as out:
            for chunk in chunks:
                out.write(chunk)
                if len(self._sink.buffer) >= _CHUNK:
                    yield self._sink.drain()
        if self._sink.buffer:
            yield self._sink.drain()

    def close(self) -> Iterator[bytes]:
        self._zip.close()
        if self._sink.buffer:
            yield self._sink.drain()
