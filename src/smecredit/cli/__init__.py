"""The ``smecredit`` command line: a thin Typer layer over the library.

Each command module registers its commands on :data:`app`. Library errors
(:class:`smecredit.exceptions.SmeCreditError`) become a one-line message on stderr and the
error's exit code (1 domain failure, 2 configuration, 3 data contract, 4 model not found,
5 governance refusal or integrity failure, 6 output cannot be written); nothing prints a stack
trace at the user. The batch jobs (``score --output DIR``, ``run-batch``) exit 10 when they completed
but rejected some rows (docs/batch.md).
"""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

try:  # typer >= 0.20 vendors its own click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer
    from click.exceptions import ClickException

from smecredit import __version__
from smecredit.exceptions import SmeCreditError

app = typer.Typer(
    name="smecredit",
    help="Credit scoring and risk modelling of small and micro enterprises (SMEs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
err_console = Console(stderr=True)
console = Console()

# Command modules, in pipeline order. Each registers its commands on ``app``.
COMMAND_MODULES = [
    "smecredit.cli.data_cmds",
    "smecredit.cli.features_cmds",
    "smecredit.cli.model_cmds",
    "smecredit.cli.report_cmds",
    "smecredit.cli.decide_cmds",
    "smecredit.cli.monitor_cmds",
    "smecredit.cli.admin_cmds",
    "smecredit.cli.batch_cmds",
]


def _version(value: bool) -> None:
    if value:
        console.print(f"smecredit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smecredit`` script."""
    _load_commands()
    try:
        rc = app(args=argv, standalone_mode=False)
    except SmeCreditError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except ClickException as exc:  # usage errors: unknown option, missing argument, bad value
        exc.show()
        return exc.exit_code
    return rc if isinstance(rc, int) else 0  # a command's typer.Exit(code) comes back as its return value


def run() -> None:  # pragma: no cover
    sys.exit(main())
