"""`python -m studylog` runs the same command line as the `studylog` script."""

from studylog.cli import main

main()
