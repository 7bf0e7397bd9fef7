"""The warehouse on disk: the only code that writes Parquet, publishes, keeps manifests and opens DuckDB."""
