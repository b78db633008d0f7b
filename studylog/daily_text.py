"""Note text made safe to show in a terminal: control characters (C0, DEL, C1) out.

A stopgap for the daily views (to-dos, cards, titles) until the shared function of
issue 8 lands in labels.py / safe_text.py; the caller still wraps the result in
rich.text.Text so that brackets are never read as markup."""

from __future__ import annotations

import re

# Tabs become spaces and line feeds stay; every other control character (ESC, CR, BEL …)
# is dropped, so a note cannot move the cursor, change colours or retitle the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """`text` with control characters but line feeds removed, tabs as spaces."""
    return _CONTROL.sub("", text.replace("\t", " "))
