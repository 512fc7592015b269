"""The exceptions gitgrid raises, and the exit status each maps to at the CLI edge.

Library code raises these and never exits; ``gitgrid.cli`` turns any of them into one line on stderr and
``exit_code``. The tree::

    GitgridError                 exit 2 unless noted
     +-- SpecError               the spec (YAML) is wrong: file, line, param named in the message
     +-- RewriteError            a file or template cannot be rewritten for a point
     +-- RepoError               not a git repository, unknown ref, git refused (exit 1 for git failures)
     +-- SweepError              unknown sweep, name already taken, sweep without points
     +-- RunError                a run cannot start: empty command, runs root not writable, sweep locked
     +-- StoreError              the results store cannot be used (e.g. written by a newer gitgrid)
     +-- SubmitError             a scheduler is missing or refused a job
     +-- ReportError             a report cannot be written, the dashboard cannot listen
     +-- SyncError               push or pull cannot go on: the remote has results this clone lacks
     |                           (pull first), a sweep there differs, nothing to push (exit 1)
     +-- OptimizeError           an optimisation cannot start or go on: bad bounds, budget, start, metric;
          |                      an evaluation that failed (exit 1)
          +-- WorkerLost         a worker process of ``Sharded`` died (exit 1)
"""

from __future__ import annotations

import reprlib

__all__ = [
    "GitFailure",
    "GitgridError",
    "GitgridWarning",
    "OptimizeError",
    "RepoError",
    "ReportError",
    "RewriteError",
    "RunError",
    "SpecError",
    "StoreError",
    "SubmitError",
    "SweepError",
    "SyncError",
    "WorkerLost",
    "excerpt",
]


class GitgridError(Exception):
    """Base of every error gitgrid reports to its user; the message is the whole story."""

    exit_code: int = 2


class SpecError(GitgridError):
    """The spec cannot be read or means nothing sensible."""


class RewriteError(GitgridError):
    """A file cannot be rewritten: target missing or ambiguous, template error, bad path."""


class RepoError(GitgridError):
    """The repository or a ref in it is not what the user said it is."""


class GitFailure(RepoError):
    """git itself failed on input gitgrid produced: a bug or a broken repository, not bad user input.

    The message quotes git's stderr, which runs to several lines (``error:``, then ``hint:`` lines
    about what to type at a prompt gitgrid's user never saw): it is kept to one line, git's own lines
    joined by ``; `` and its hints left out, as every other error is one line at the CLI edge."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        lines = (line.strip() for line in message.splitlines())
        super().__init__("; ".join(line for line in lines if line and not line.startswith("hint:")))


class SweepError(GitgridError):
    """A sweep cannot be found, created under that name, or has no points."""


class RunError(GitgridError):
    """A run cannot be started as asked."""


class StoreError(GitgridError):
    """The results store cannot be opened or written."""


class SubmitError(GitgridError):
    """A scheduler is missing, refused a job, or a job script cannot be rendered."""


class ReportError(GitgridError):
    """A report cannot be written where asked, or the dashboard cannot listen where asked."""


class SyncError(GitgridError):
    """A push or pull cannot go on: the remote refused it (pull first), or there is nothing to push."""

    exit_code = 1


class OptimizeError(GitgridError):
    """An optimisation cannot start as asked (exit 2), or cannot go on (``exit_code`` 1 where set)."""


class WorkerLost(OptimizeError):
    """A worker process died (killed, out of memory, crashed): its loaded data is gone with it."""

    exit_code = 1


class GitgridWarning(UserWarning):
    """Something the user should hear about that does not stop the work (shown on stderr by the CLI)."""


class _Short(reprlib.Repr):
    """``reprlib`` that never fails and never grows: huge ints are described, not converted."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother, self.maxlong = 3, 40, 40, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 4

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 256:
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


_SHORT = _Short()


def excerpt(value: object, limit: int = 60, quote: bool = False) -> str:
    """A short, one-line ``repr`` of anything a user or a file gave, safe to put into an error message.

    Messages quote what they complain about; a YAML alias bomb or a megabyte string must not make the
    message itself the problem (#9), so every quoted value goes through here. A string comes back
    without quotes (the message supplies them) unless ``quote``.
    """
    try:
        text = value if isinstance(value, str) else _SHORT.repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    if isinstance(value, str):  # printable text as it is (so quoting twice changes nothing), the rest escaped
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[: limit + 1])
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"'{text}'" if quote and isinstance(value, str) else text
