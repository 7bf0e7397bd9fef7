"""`--config FILE` (nightly, backfill) and `--fail-on-warning` (nightly): the settings of
schemas/config.py as the flows take them, and the exit status of a night that warned."""

from __future__ import annotations

from microradar.commands.common import CliError

EXIT_WARNINGS = 3  # the night committed, but a freshness or volume check warned (--fail-on-warning)


def config_dict(args) -> dict:
    """The settings of `--config FILE` (defaults without it), with `--fail-on-warning` laid over."""
    from dataclasses import replace

    from schemas import config as cfg

    try:
        settings = cfg.load_toml(args.config) if args.config else cfg.DEFAULT
    except cfg.ConfigError as exc:
        raise CliError(str(exc)) from exc
    if getattr(args, "fail_on_warning", False):
        settings = replace(settings, checks=replace(settings.checks, fail_on_warning=True))
    return cfg.to_dict(settings)


def add_config_options(p, checks: bool) -> None:
    p.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="a TOML configuration file (every setting and its default: docs/microradar.example.toml)",
    )
    if checks:
        p.add_argument(
            "--fail-on-warning",
            action="store_true",
            help=f"exit with status {EXIT_WARNINGS} when a freshness or volume check warns (after the "
            "night is committed); also `checks.fail_on_warning` in the config file",
        )
