"""The typer app every command registers on, and what commands share: error reporting, ``-C DIR``, the
progress bar, the command after ``--``.

Every :class:`~gitgrid.errors.GitgridError` becomes one line on stderr and its exit status (2 for bad input)
here, in :func:`reported`; warnings become ``gitgrid: warning:`` lines; Ctrl-C exits 130.
"""

from __future__ import annotations

import errno
import functools
import os
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TextIO, TypeVar

import typer
from typer._click import exceptions as click_errors  # typer 0.26-0.28 (pinned) carries its own click
from typer.core import TyperCommand, TyperGroup

from gitgrid.errors import GitgridError, GitgridWarning
from gitgrid.git.repository import Repository, open_repository

__all__ = [
    "RUNS_ROOT_HELP",
    "Advance",
    "CommandAfterDashes",
    "Context",
    "SweepName",
    "app",
    "context_of",
    "progress_bar",
    "reported",
]


class _OneLineErrors(TyperGroup):
    """The group of every command: a usage error (an unknown option, a value out of range, a missing
    argument) is one ``gitgrid: error:`` line and exit status 2, like every other bad input, instead of
    click's boxed usage text. ``gitgrid`` alone still prints the help."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        parse = functools.partial(
            super().main, args, prog_name, complete_var, False, windows_expand_args, **extra
        )
        if not standalone_mode:
            return parse()
        try:
            code = parse()
        except click_errors.NoArgsIsHelpError as exc:  # the help is printed already
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            print(f"gitgrid: error: {_usage_error(exc)}", file=sys.stderr)
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("gitgrid: interrupted", file=sys.stderr)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: click_errors.ClickException) -> str:
    message = " ".join(exc.format_message().split())
    context = getattr(exc, "ctx", None)
    if context is None:
        return message
    return f"{context.command_path}: {message} (see '{context.command_path} --help')"


app = typer.Typer(
    name="gitgrid",
    cls=_OneLineErrors,
    help="Turn a parameter study into git history: one commit per point, then list, run and compare.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

P = ParamSpec("P")
R = TypeVar("R")


SweepName = Annotated[
    str | None, typer.Argument(help="Sweep name (default: the newest).", show_default=False)
]


@dataclass(frozen=True)
class Context:
    """Options given before the command (``gitgrid -C DIR ...``)."""

    directory: Path

    def repo(self) -> Repository:
        return open_repository(self.directory)

    def path(self, path: Path) -> Path:
        """A path given on the command line, relative to ``-C DIR`` as git does."""
        return path if path.is_absolute() else self.directory / path


def reported(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors and warnings into messages and exit statuses, in one place."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GitgridWarning)
            try:
                return command(*args, **kwargs)
            except GitgridError as exc:
                caught.clear()  # the error says what matters; warnings on the way to it are noise
                print(f"gitgrid: error: {exc}", file=sys.stderr)
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                print("gitgrid: interrupted", file=sys.stderr)
                raise typer.Exit(130) from None
            except BrokenPipeError:
                _silence_stdout()
                raise typer.Exit(0) from None
            except OSError as exc:
                if exc.errno == errno.EIO:  # the terminal is gone (closed: SIGHUP); no one reads on
                    _silence_stdout(sys.stderr)
                    caught.clear()
                    raise typer.Exit(128 + signal.SIGHUP) from None
                if exc.errno not in _FAULTS:
                    raise
                caught.clear()  # a fault of the machine, not of gitgrid: one line, as bad input is
                print(f"gitgrid: error: {exc.filename or 'a file'}: {exc.strerror}", file=sys.stderr)
                raise typer.Exit(2) from None
            finally:
                _print_warnings(caught)

    return wrapper


# faults of the machine a library call may meet before it can say so itself: one line at the edge
_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        print(f"gitgrid: warning: {warning.message}", file=sys.stderr)
    caught.clear()


def _silence_stdout(*others: TextIO) -> None:
    """After the reader of a pipe went away (``gitgrid list | head``) or the terminal closed, drop what
    is still buffered (for stdout and ``others``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, *others):
        os.dup2(devnull, stream.fileno())


def _print_version(value: bool) -> None:
    if value:
        from gitgrid._version import __version__

        print(f"gitgrid {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Option("-C", help="Run as if started in DIR (like git -C).", metavar="DIR")
    ] = Path(),
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print gitgrid's version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    ctx.obj = Context(directory)


def context_of(ctx: typer.Context) -> Context:
    obj: Any = ctx.obj
    return obj if isinstance(obj, Context) else Context(Path())


Advance = Callable[[int, int, str], None]  # done, total, description


@contextmanager
def progress_bar(enabled: bool = True, transient: bool = True) -> Iterator[Advance]:
    """A rich progress bar on stderr (description, bar, done/total, ETA); silent unless on a terminal.

    Where it cannot show (disabled, or stderr not a terminal and nothing forcing one, as rich decides),
    rich is not even imported: its import is a tenth of a second of every scripted ``gitgrid run``.
    """
    if not enabled or not (sys.stderr.isatty() or _terminal_forced()):
        yield lambda done, total, description: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    stderr = Console(stderr=True, highlight=False)
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr,
        transient=transient,
        disable=not (enabled and stderr.is_terminal),
    )
    task = bar.add_task("", total=None)

    def advance(done: int, total: int, description: str) -> None:
        bar.update(task, completed=done, total=total, description=description)

    with bar:
        yield advance


def _terminal_forced() -> bool:
    """True when the environment tells rich to treat stderr as a terminal anyway, read as rich reads it
    (``Console.is_terminal``): ``TTY_COMPATIBLE`` 0 or 1 decides, else a non-empty ``FORCE_COLOR``."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    return bool(os.environ.get("FORCE_COLOR"))


RUNS_ROOT_HELP = "Where run directories go (default: .gitgrid/runs, or git config gitgrid.runsRoot)."


class CommandAfterDashes(TyperCommand):
    """Everything after the first ``--`` is the user's command, kept apart before options are parsed."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta["gitgrid.command"] = args[at + 1 :]
            args = args[:at]
        else:
            ctx.meta["gitgrid.command"] = []
        return super().parse_args(ctx, args)
