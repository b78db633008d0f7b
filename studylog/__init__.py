"""studylog: a terminal study notebook for deep-learning notes and their experiments."""

__version__ = "0.1.0"
