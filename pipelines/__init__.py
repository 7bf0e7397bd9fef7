"""Apache Beam pipelines: landing files in, events and engagement windows out as Parquet."""
