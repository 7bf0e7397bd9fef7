"""The stream (`microradar stream`), by concern: `source` (the landing directory in event time),
`windowing` (parse, daily and trailing windows), `publish` (partitions, dead letters, which rows
a run may write), `manifest` (what the stream consumed), `options` (defaults, durations, pipeline
options), `run` (run_stream and the clean stop). The design notes are in pipelines/streaming.py."""
