"""The embedded SQLite store: schema and migrations, the note index, queries and search."""
