"""Running snippets: child processes in their own process group, limits, output streaming."""
