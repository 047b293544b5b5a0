"""WebVTT: validating an instructor's caption file and turning a track into a plain-text transcript.

Parsing is webvtt-py's (pinned in requirements.txt); this module only decides what we accept. The parser
skips blocks it cannot read instead of failing, so a file is valid only when every cue timing line it
contains became a cue: a typo in one timestamp must not silently drop that caption.
"""

import io
import re

import webvtt
from webvtt.errors import MalformedFileError

VTT_MAX_BYTES = 1024 * 1024
MAX_CUES = 20_000
_TIMING = re.compile(r"-->")


class InvalidWebVTT(ValueError):
    """The text is not a WebVTT file we accept; the message says why, for the instructor."""


def _captions(text: str) -> list[webvtt.Caption]:
    try:
        return list(webvtt.from_buffer(io.StringIO(text)).captions)
    except MalformedFileError as exc:
        raise InvalidWebVTT("Not a WebVTT file: it must start with the line WEBVTT.") from exc
    except (ValueError, IndexError) as exc:
        raise InvalidWebVTT("The WebVTT file could not be read.") from exc


def vtt_validate(text: str) -> int:
    """Check an uploaded caption file; returns its cue count. Raises `InvalidWebVTT`."""
    if len(text.encode("utf-8")) > VTT_MAX_BYTES:
        raise InvalidWebVTT(f"The WebVTT file is larger than {VTT_MAX_BYTES // 1024} KiB.")
    if "\x00" in text:
        raise InvalidWebVTT("The WebVTT file contains NUL characters.")
    captions = _captions(text)
    if not captions:
        raise InvalidWebVTT("The WebVTT file has no cues.")
    if len(captions) > MAX_CUES:
        raise InvalidWebVTT(f"The WebVTT file has more than {MAX_CUES} cues.")
    timings = sum(1 for line in text.splitlines() if _TIMING.search(line))
    if timings != len(captions):
        raise InvalidWebVTT(f"{timings - len(captions)} cue(s) have an invalid timing line.")
    for number, caption in enumerate(captions, start=1):
        if caption.end_in_seconds < caption.start_in_seconds:
            raise InvalidWebVTT(f"Cue {number} ends before it starts.")
    return len(captions)


def vtt_plain_text(text: str) -> str:
    """The spoken text of a track: cue texts without markup, one line per cue, repeats dropped (generated
    captions often repeat a line across consecutive cues)."""
    lines: list[str] = []
    for caption in _captions(text):
        line = " ".join(caption.text.split())
        if line and (not lines or lines[-1] != line):
            lines.append(line)
    return "\n".join(lines)
