"""Markdown notes → Note objects: metadata, outline, to-dos and snippets (pure, no I/O)."""
