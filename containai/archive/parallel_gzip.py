"""A gzip writer that compresses on every core, the way pigz does.

The input is cut into 1 MiB blocks deflated concurrently in a thread pool (zlib releases the
GIL while it deflates). Each block is primed with the last 32 KiB of the one before (so the
ratio is that of one stream) and ends with a sync flush (so the next starts on a byte
boundary); the last ends the stream. The result is ONE ordinary gzip member: every reader,
including ``tarfile``'s stream mode (which does not follow multi-member files), reads it. The
CRC is computed here in order. Output is reproducible: no timestamp, fixed block boundaries.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

BLOCK = 1024 * 1024
# gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown (reproducible).
_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


_WINDOW = 32 * 1024


def deflate_block(data: bytes, primer: bytes, level: int, *, last: bool) -> bytes:
    """Raw deflate of ``data`` with ``primer`` as its dictionary; byte-aligned unless last."""
    if primer:
        deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=primer)
    else:  # zlib refuses an empty dictionary
        deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipWriter:
    """A write-only binary file: what is written to it reaches ``out`` gzip-compressed.

    Blocks are compressed concurrently and written in order; at most ``workers + 1`` blocks
    are in flight, so memory stays bounded whatever the input size. ``close`` (or the context
    manager) flushes the last block; it does not close ``out``.
    """

    def __init__(
        self, out: IO[bytes], level: int = 6, *, workers: int | None = None, block: int = BLOCK
    ) -> None:
        self._out = out
        self._level = level
        self._block = block
        self._workers = workers or min(os.cpu_count() or 1, 8)
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="gzip")
        self._pending: deque[Future[bytes]] = deque()
        self._buffer = bytearray()
        self._primer = b""
        self._crc = 0
        self._closed = False
        self.bytes_in = 0
        out.write(_HEADER)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write to a closed ParallelGzipWriter")
        self._buffer += data
        self._crc = zlib.crc32(data, self._crc)
        self.bytes_in += len(data)
        while len(self._buffer) >= self._block:
            chunk = bytes(self._buffer[: self._block])
            del self._buffer[: self._block]
            self._submit(chunk, last=False)
        return len(data)

    def _submit(self, chunk: bytes, *, last: bool) -> None:
        future = self._pool.submit(deflate_block, chunk, self._primer, self._level, last=last)
        self._pending.append(future)
        self._primer = chunk[-_WINDOW:]
        while len(self._pending) > self._workers:
            self._out.write(self._pending.popleft().result())

    def close(self) -> None:
        """Write the rest and the trailer (``out`` stays open)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._submit(bytes(self._buffer), last=True)
            self._buffer.clear()
            while self._pending:
                self._out.write(self._pending.popleft().result())
            trailer = (self._crc & 0xFFFFFFFF).to_bytes(4, "little")
            self._out.write(trailer + (self.bytes_in & 0xFFFFFFFF).to_bytes(4, "little"))
        finally:
            self._abandon()

    def _abandon(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> ParallelGzipWriter:
        return self

    def __exit__(self, error: type[BaseException] | None, *_: Any) -> None:
        if error is None:
            self.close()
        else:  # failing: drop what is in flight, write nothing more
            self._closed = True
            self._abandon()

    # What tarfile's stream mode asks of its file object.
    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        """Nothing to do: blocks are written as they are compressed."""
