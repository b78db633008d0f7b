"""Bytes of a note file → text: UTF-8 (BOM or not), else CP949/EUC-KR, else a clear refusal."""

from __future__ import annotations

from dataclasses import dataclass, field

# NUL bytes in the first few KB mean a binary file, not a note in an odd encoding.
_SNIFF = 8192


@dataclass
class Decoded:
    text: str | None  # None: the file cannot be read as a note
    warnings: list[str] = field(default_factory=list)


def decode_note(data: bytes) -> Decoded:
    """Decode a note file's bytes; line ends become '\\n'."""
    if not data:
        return Decoded("", ["empty file"])
    if b"\x00" in data[:_SNIFF]:
        return Decoded(None, ["binary file, not text; skipped"])
    warnings = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            # cp949 is a superset of EUC-KR, the two encodings older Korean notes use.
            text = data.decode("cp949")
        except UnicodeDecodeError:
            return Decoded(
                None,
                [
                    f"not UTF-8 or CP949/EUC-KR text (undecodable byte at offset "
                    f"{utf8_error.start}); skipped. Re-save it as UTF-8."
                ],
            )
        warnings.append("not UTF-8; read as CP949/EUC-KR (re-save as UTF-8 to silence this)")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        warnings.append("empty file")
    return Decoded(text, warnings)
