"""Offline demo: example posts made by the project, run through the pipeline."""
