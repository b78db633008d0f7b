"""Sharing runs with a study group through an MLflow tracking server: push (push.py) and
pull to compare (remote.py). The only part of studylog that imports MLflow, and only when a
sync command runs (`pip install studylog[sync]`)."""
