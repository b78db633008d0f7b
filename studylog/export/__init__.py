"""Export notes with their latest runs: Markdown for a blog, self-contained HTML, notebooks."""
