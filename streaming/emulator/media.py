"""Stand-in media the emulator serves for playback URLs: an HLS playlist and tiny images."""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib
from urllib.parse import quote


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixel = zlib.compress(b"\x00\x20\x20\x20")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")


# Well-known minimal 1x1 images (valid files; the content is irrelevant, the type is what clients check).
_JPEG_1X1 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////"
    "////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
_WEBP_1X1 = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")

IMAGES: dict[str, tuple[str, bytes]] = {
    "png": ("image/png", _png_1x1()),
    "jpg": ("image/jpeg", _JPEG_1X1),
    "webp": ("image/webp", _WEBP_1X1),
}


def hls_playlist(*, source_url: str, duration: float) -> bytes:
    """A one-segment VOD playlist whose segment is the uploaded file itself (see docs/emulator.md)."""
    seconds = max(duration, 0.001)
    return (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n"
        f"#EXT-X-TARGETDURATION:{math.ceil(seconds)}\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:{seconds:.3f},\n"
        f"{source_url}\n"
        "#EXT-X-ENDLIST\n"
    ).encode()


def storyboard_vtt(*, image_url: str, duration: float) -> bytes:
    end = max(duration, 1.0)
    stamp = f"{int(end // 3600):02d}:{int(end % 3600 // 60):02d}:{end % 60:06.3f}"
    return f"WEBVTT\n\n00:00:00.000 --> {stamp}\n{image_url}#xywh=0,0,1,1\n".encode()


def storyboard_json(*, image_url: str, duration: float) -> bytes:
    return json.dumps(
        {
            "url": image_url,
            "tile_width": 1,
            "tile_height": 1,
            "duration": duration,
            "tiles": [{"start": 0, "x": 0, "y": 0}],
        }
    ).encode()


def sniff_content_type(head: bytes) -> str:
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    if head[:1] == b"\x47":
        return "video/mp2t"
    return "application/octet-stream"


def with_token(url: str, token: str | None) -> str:
    return f"{url}?token={quote(token, safe='')}" if token else url
