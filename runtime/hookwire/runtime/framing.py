"""Length-delimited frames: a protobuf varint byte count, then that many bytes of one message.

The framing of the Lua worker's stdin/stdout and of recording files (hookwire.runtime.replay);
the same as protobuf's `writeDelimitedTo`.

Example:
    >>> import io
    >>> frame = encode_frame(b"abc")
    >>> frame
    b'\\x03abc'
    >>> FrameReader(io.BytesIO(frame + encode_frame(b""))).read()
    b'abc'
"""

from __future__ import annotations

from typing import IO

from hookwire.runtime.errors import HookwireError, InvalidArgument

__all__ = ["MAX_FRAME_BYTES", "FrameReader", "MalformedFrame", "encode_frame", "encode_varint"]

# A frame longer than this is taken as corruption rather than allocated (64 MiB).
MAX_FRAME_BYTES = 64 * 1024 * 1024


class MalformedFrame(HookwireError, code="DATA_LOSS"):
    """The byte stream does not hold a valid frame (bad length, cut short, too large)."""


def encode_varint(n: int) -> bytes:
    """Base-128 varint (protobuf wire format) of a non-negative int: the one varint writer
    (stdio frames, event frames, JetStream messages). Short values take no loop.

    Example:
        >>> encode_varint(300).hex()
        'ac02'
    """
    if n < 0x80:
        if n >= 0:
            return _SMALL[n]
        raise InvalidArgument("n", f"must be >= 0, got {n}")
    if n < 0x4000:  # frame lengths: one or two bytes almost always
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0x200000:  # sequences: three bytes up to two million
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def decode_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at `pos` of canonical bytes (already accepted by a parser) and the position
    after it: the one varint reader.

    Example:
        >>> decode_varint(bytes.fromhex("00ac02"), 1)
        (300, 3)
    """
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def encode_frame(body: bytes) -> bytes:
    """`body` prefixed with its length as a varint."""
    return encode_varint(len(body)) + body


class FrameReader:
    """Reads frames from a binary stream; `read()` returns None at a clean end (between frames).

    Example:
        >>> import io
        >>> try:
        ...     FrameReader(io.BytesIO(b"\\x05ab")).read()
        ... except MalformedFrame as exc:
        ...     print(exc)
        the stream ended 2 bytes into a frame of 5 bytes
    """

    def __init__(self, stream: IO[bytes], *, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self._stream = stream
        self._max = max_bytes

    def _exact(self, n: int) -> bytes:
        parts: list[bytes] = []
        got = 0
        while got < n:
            chunk = self._stream.read(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def read(self) -> bytes | None:
        """The next frame's bytes, or None when the stream ends before a new frame."""
        n = 0
        for k in range(10):
            b = self._stream.read(1)
            if not b:
                if k == 0:
                    return None
                raise MalformedFrame("the stream ended inside a frame length")
            n |= (b[0] & 0x7F) << (7 * k)
            if b[0] < 0x80:
                break
        else:
            raise MalformedFrame("a frame length varint is longer than 10 bytes")
        if n > self._max:
            raise MalformedFrame(f"a frame of {n} bytes exceeds the limit of {self._max} bytes")
        body = self._exact(n)
        if len(body) < n:
            raise MalformedFrame(f"the stream ended {len(body)} bytes into a frame of {n} bytes")
        return body
