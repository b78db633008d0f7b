"""`python -m studylog` runs the same command line as the `studylog` script."""

from studylog.cli import main

# Guarded: worker processes started with "spawn" import this module again.
if __name__ == "__main__":
    main()
