"""The `microradar` subcommands, one module per concern; microradar/cli.py builds the parser from
them and dispatches. Each module adds its subcommands' options (`add_*_parser(sub)`) and runs them
(`cmd_*(args[, beam_args])`); it imports the engine inside the functions, so that `--help` stays
fast and Prefect is configured (common.quiet_prefect) before anything imports it.
"""
