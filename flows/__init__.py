"""Prefect flows: the nightly run (ingest -> windows -> SQL -> report) and its deployment."""
