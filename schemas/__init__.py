"""The one source of truth for microradar's input contract and output datasets.

`events` describes the landing-file event contract (SPEC section 2); `datasets` the Parquet
datasets of the warehouse (SPEC section 4). The Beam parser, the Parquet writers, the DuckDB
views and the data dictionary all derive from these two modules.
"""
