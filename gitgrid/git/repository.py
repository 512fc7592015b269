"""A repository and the few operations gitgrid needs on it: resolve, read, refs, config, worktrees.

Reading trees and objects goes through GitPython, whose persistent ``cat-file`` processes make many small
reads cheap; :meth:`Repository.close` (or ``with``) ends them, which long-running callers (the dashboard,
the optimiser) must do. Refs, config and worktrees go through short ``git`` calls. Refs are created in one
``git update-ref --stdin`` transaction: all of them or none.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from gitgrid.errors import GitFailure, RepoError
from gitgrid.git.fastimport import FastImport

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ABBREVIATION = re.compile(r"[0-9a-fA-F]{4,39}")

if TYPE_CHECKING:
    import git

__all__ = [
    "CHAIN_SEGMENT",
    "ZERO",
    "CommitTree",
    "Ident",
    "RefUpdate",
    "Repository",
    "open_repository",
    "run_git",
]

ZERO = "0" * 40
CHAIN_SEGMENT = 1 << 16  # commits per git process in walk_chain


@dataclass(frozen=True)
class Ident:
    """A git identity line as git itself would write it: ``Name <email> <epoch> <tz>``."""

    line: str

    @property
    def when(self) -> datetime:
        """The identity's time in its own time zone (what ``git log`` would show)."""
        epoch, tz = self.line.rsplit(" ", 2)[1:]
        sign = -1 if tz.startswith("-") else 1
        offset = timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
        return datetime.fromtimestamp(int(epoch), UTC).astimezone(timezone(offset))


@dataclass(frozen=True)
class RefUpdate:
    """One ref change in a transaction; ``old`` is ZERO to require that the ref does not exist yet."""

    ref: str
    new: str
    old: str | None = None


def open_repository(path: Path | str = ".") -> Repository:
    """The repository containing ``path`` (like git, it searches parent folders)."""
    where = Path(path)
    if not where.is_dir():
        raise RepoError(f"{path}: no such directory")
    lines = _rev_parse(where, "--git-common-dir", "--show-toplevel") or _rev_parse(where, "--git-common-dir")
    if not lines:
        raise RepoError(f"{where.resolve()}: not a git repository (or any of its parents)")
    git_dir = Path(lines[0])
    return Repository(Path(lines[1]) if len(lines) > 1 else git_dir, git_dir)  # bare: no work tree


def _rev_parse(where: Path, *args: str) -> list[str]:
    result = run_git(["rev-parse", "--path-format=absolute", *args], where)
    return result.stdout.splitlines() if result.returncode == 0 else []


def run_git(args: Sequence[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One short ``git`` call: its output as text, whatever its exit status (the caller judges it)."""
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False)


class Repository:
    """A git repository, with the few operations gitgrid needs."""

    def __init__(self, root: Path, git_dir: Path) -> None:
        self.root = root.resolve()
        self.git_dir = git_dir.resolve()

    @functools.cached_property
    def _repo(self) -> git.Repo:
        """GitPython's view, opened on first use: importing it costs more than most commands take."""
        import git

        return git.Repo(self.git_dir if self.root == self.git_dir else self.root)

    def close(self) -> None:
        """End GitPython's persistent ``git cat-file`` processes and drop its caches (reopened on use)."""
        repo = self.__dict__.pop("_repo", None)
        if repo is not None:
            repo.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # reading ----------------------------------------------------------------------------------------
    def resolve_commit(self, ref: str) -> str:
        """The full id of the commit ``ref`` names (branch, tag, remote branch, id, ``HEAD~2``...)."""
        result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"])
        if result.returncode != 0 or not result.stdout.strip():
            raise RepoError(f"unknown base ref '{ref}': no such branch, tag or commit in {self.root}")
        return result.stdout.strip()

    def head_ref(self) -> str:
        """The current branch name, or the commit id when HEAD is detached."""
        result = self._run(["symbolic-ref", "--quiet", "--short", "HEAD"])
        return result.stdout.strip() if result.returncode == 0 else "HEAD"

    def tree(self, commit: str) -> CommitTree:
        return CommitTree(self._repo.commit(commit))

    def root_tree(self, commit: str) -> str:
        return str(self._repo.commit(commit).tree.hexsha)

    def read_object(self, oid: str) -> bytes:
        """The raw content of an object (for a tree: git's binary entry list)."""
        data: bytes = self._repo.odb.stream(bytes.fromhex(oid)).read()
        return data

    def object_format(self) -> str:
        """``sha1`` or ``sha256``: the hash this repository names its objects with."""
        result = self._run(["rev-parse", "--show-object-format"])
        return result.stdout.strip() or "sha1"

    def ident(self, kind: str = "COMMITTER") -> Ident:
        """The author or committer identity git would use now (config and GIT_* environment)."""
        result = self._run(["var", f"GIT_{kind}_IDENT"])
        if result.returncode != 0:
            raise RepoError(
                "git does not know who you are: set user.name and user.email "
                f"(git config) or GIT_{kind}_NAME/GIT_{kind}_EMAIL ({result.stderr.strip()})"
            )
        return Ident(result.stdout.strip())

    def valid_branch_name(self, name: str) -> bool:
        return self._run(["check-ref-format", f"refs/heads/{name}"]).returncode == 0

    def abbreviated_object(self, name: str) -> str | None:
        """The object ``name`` abbreviates, when it is 4-39 hex digits that git reads as an object id."""
        if not _ABBREVIATION.fullmatch(name):
            return None
        result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{object}}"])
        found = result.stdout.strip()
        return found if result.returncode == 0 and found.startswith(name.lower()) else None

    def checked_out_branches(self) -> dict[str, Path]:
        """Branch names checked out in any working tree of this repository, and where."""
        out = self._check(["worktree", "list", "--porcelain"])
        found: dict[str, Path] = {}
        path: Path | None = None
        for line in out.splitlines():
            if line.startswith("worktree "):
                path = Path(line.removeprefix("worktree "))
            elif line.startswith("branch refs/heads/") and path is not None:
                found[line.removeprefix("branch refs/heads/")] = path
        return found

    def ref_exists(self, ref: str) -> bool:
        return self._run(["show-ref", "--verify", "--quiet", ref]).returncode == 0

    def ref_value(self, ref: str) -> str | None:
        """The object id a full ref name (``refs/...``) points to, None when there is no such ref."""
        result = self._run(["rev-parse", "--verify", "--quiet", "--end-of-options", ref])
        return result.stdout.strip() if result.returncode == 0 and ref.startswith("refs/") else None

    def is_ancestor(self, ancestor: str, commit: str) -> bool:
        """Whether commit ``ancestor`` is ``commit`` or in its history (both hex ids)."""
        if not (_OBJECT_ID.fullmatch(ancestor) and _OBJECT_ID.fullmatch(commit)):
            return False
        return self._run(["merge-base", "--is-ancestor", ancestor, commit]).returncode == 0

    def trees(self, commits: Sequence[str]) -> dict[str, str]:
        """The tree id of each commit (hex ids; one ``git cat-file --batch-check`` for them all); commits
        this repository lacks are left out."""
        wanted = [c for c in commits if _OBJECT_ID.fullmatch(c)]
        if not wanted:
            return {}
        out = self._check(["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                          stdin="".join(f"{c}^{{tree}}\n" for c in wanted))  # fmt: skip
        lines = (line.partition(" ") for line in out.splitlines())
        return {c: tree for c, (tree, _, kind) in zip(wanted, lines, strict=True) if kind == "tree"}

    def for_each_ref(self, pattern: str, fields: Sequence[str]) -> list[list[str]]:
        """One row of ``fields`` (for-each-ref atoms without ``%()``) per ref under ``pattern``."""
        fmt = "%00".join(f"%({f})" for f in fields) + "%00%1e"
        out = self._check(["for-each-ref", f"--format={fmt}", pattern])
        rows = [record.strip("\n").split("\0") for record in out.split("\x1e")]
        return [row[: len(fields)] for row in rows if len(row) > len(fields) - 1 and row[0]]

    def rev_list(self, base: str, tip: str) -> list[str]:
        """Commits of ``base..tip``, oldest first (first-parent, so a chain comes out in order)."""
        out = self._check(["rev-list", "--reverse", "--first-parent", "--end-of-options", f"{base}..{tip}"])
        return out.split()

    def walk_chain(
        self, tip: str, until: str, limit: int, fields: Sequence[str] = ()
    ) -> Iterator[list[tuple[str, ...]]]:
        """``tip`` and its first parents, newest first, to ``until`` (included if met) or ``limit`` commits.

        A record is a commit id followed by the value of each pretty-format field (``%(trailers:...)``);
        without fields, ``git rev-list`` gives ids alone. Records come in chunks as git prints them, so
        the caller works while git reads on. Each segment of :data:`CHAIN_SEGMENT` commits is read by its
        own git process, which keeps git's memory bounded: one walk keeps every commit it saw (170 MiB
        per million).
        """
        start: str | None = tip
        while start is not None and limit > 0:
            size, following = min(limit, CHAIN_SEGMENT), None
            proc = self._chain_segment(start, size, fields)
            try:
                for chunk in _records(proc, len(fields) + 1):
                    if len(chunk) > size:  # the commit after the segment: where the next one starts
                        following = chunk[size][0]
                        del chunk[size:]
                    size, limit = size - len(chunk), limit - len(chunk)
                    met = next((n for n, record in enumerate(chunk) if record[0] == until), None)
                    yield chunk if met is None else chunk[: met + 1]
                    if met is not None:
                        return
            finally:
                _end(proc)
            start = following

    def _chain_segment(self, start: str, size: int, fields: Sequence[str]) -> subprocess.Popen[bytes]:
        """A git process listing ``size`` commits from ``start``, and one more: where the next one starts."""
        if fields:
            fmt = "%x00".join(["%H", *fields])
            args = ["log", "--first-parent", "-z", f"-n{size + 1}", f"--format={fmt}"]
        else:
            args = ["rev-list", "--first-parent", f"-n{size + 1}"]
        # GIT_FLUSH=0: git flushes after every commit when writing to a pipe, waking the reader each time
        proc = self._popen_bytes([*args, "--end-of-options", start], env={**os.environ, "GIT_FLUSH": "0"})
        _widen(proc)
        return proc

    def log_trailers(
        self, base: str, tip: str, keys: Sequence[str], tree: bool = False
    ) -> Iterator[list[str]]:
        """For each commit of ``base..tip``, oldest first: its id and the value of each trailer in ``keys``
        (and its tree id last, with ``tree``).

        One ``git log`` stream for the whole range: reading commits one by one costs 15x more.
        """
        atoms = "%x1f".join(
            [*(f"%(trailers:key={k},valueonly,separator=%x1d)" for k in keys), *(["%T"] * tree)]
        )
        args = [
            "log",
            "--reverse",
            "--first-parent",
            f"--format=%H%x1f{atoms}%x1e",
            "--end-of-options",
            f"{base}..{tip}",
        ]
        with self._popen(args) as proc:
            assert proc.stdout is not None
            pending = ""
            while chunk := proc.stdout.read(1 << 20):
                records = (pending + chunk).split("\x1e")
                pending = records.pop()
                for record in records:
                    yield [field.strip() for field in record.strip("\n").split("\x1f")]
            self._wait(proc, args)

    def diffs(self, base: str, commits: Sequence[str], limit: int = 65536) -> dict[str, str]:
        """The patch of each commit against ``base`` (as ``git diff base commit``), at most ``limit``
        characters each, from one ``git diff-tree --stdin`` process (one git call per point costs 15x).

        Ids must be full hex object names: they may come from a store or a tag someone else wrote.
        """
        wanted = [c for c in commits if _OBJECT_ID.fullmatch(c)]
        if not _OBJECT_ID.fullmatch(base) or not wanted:
            return {}
        args = ["diff-tree", "--stdin", "-p", "--no-color", "--no-ext-diff", "--no-textconv"]
        result = subprocess.run(
            ["git", *args], cwd=self.root, input="".join(f"{c} {base}\n" for c in wanted).encode(),
            capture_output=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise GitFailure(f"git diff-tree failed: {result.stderr.decode(errors='replace').strip()}")
        patches: dict[str, list[str]] = {c: [] for c in wanted}
        current: list[str] = []
        for line in result.stdout.decode(errors="replace").splitlines(keepends=True):
            if line.rstrip("\n") in patches:  # the id line diff-tree prints before each commit's patch
                current = patches[line.rstrip("\n")]
            else:
                current.append(line)
        return {c: "".join(lines)[:limit] for c, lines in patches.items()}

    def subjects(self, commits: Sequence[str]) -> dict[str, str]:
        """The subject line of each commit (hex ids only), in one ``git log --no-walk`` call."""
        wanted = [c for c in commits if _OBJECT_ID.fullmatch(c)]
        if not wanted:
            return {}
        out = self._check(["log", "--no-walk=unsorted", "--format=%H%x1f%s", *wanted])
        return dict(line.split("\x1f", 1) for line in out.splitlines() if "\x1f" in line)

    def fast_import(self) -> FastImport:
        return FastImport(self.root)

    def exclude(self, pattern: str) -> None:
        """Add ``pattern`` to ``.git/info/exclude`` (once), so what gitgrid keeps there is never committed."""
        exclude = self.git_dir / "info" / "exclude"
        text = exclude.read_text() if exclude.exists() else ""
        if pattern not in text.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with exclude.open("a") as out:
                out.write(("\n" if text and not text.endswith("\n") else "") + f"{pattern}\n")

    def attribute(self, name: str, paths: Sequence[str]) -> dict[str, str]:
        """The git attribute ``name`` of each path, as the repository's ``.gitattributes`` (and
        ``.git/info/attributes``) set it: ``unspecified`` where none does."""
        if not paths:
            return {}
        result = self._run(["check-attr", "-z", name, "--", *paths])
        out = result.stdout.split("\0") if result.returncode == 0 else []
        return {out[k]: out[k + 2] for k in range(0, len(out) - 2, 3)}

    def tracked(self, path: str) -> bool:
        """Whether git tracks ``path`` (relative to the top) or anything below it: e.g. a ``.gitgrid/``
        someone committed, which then came with every clone."""
        result = self._run(["ls-files", "-z", "--", f":(literal){path}"])
        return result.returncode == 0 and bool(result.stdout)

    def write_tag(self, name: str, target: str, tagger: Ident, message: str) -> str:
        """Write an annotated tag object (no ref) and return its id."""
        body = f"object {target}\ntype commit\ntag {name}\ntagger {tagger.line}\n\n{message}"
        return self._check(["mktag"], stdin=body).strip()

    def update_refs(self, updates: Sequence[RefUpdate], delete: Sequence[str] = ()) -> None:
        """Apply every update (and deletion) in one transaction: all land or none does."""
        lines = ["start"]
        for u in updates:
            lines.append(f"update {u.ref} {u.new}" + (f" {u.old}" if u.old is not None else ""))
        lines.extend(f"delete {ref}" for ref in delete)
        lines += ["prepare", "commit", ""]
        self._check(["update-ref", "--stdin"], stdin="\n".join(lines))

    # checkouts for runs -------------------------------------------------------------------------------
    def add_worktree(self, path: Path, commit: str) -> None:
        """A detached worktree of ``commit`` at ``path``, registered with git (``git worktree list``).

        Called when ``path`` is no usable checkout. What is left there (a checkout whose ``.git`` file, or
        git's record of it, was deleted by a clean-up or a crash) is removed first: ``git worktree add``
        refuses a folder that exists, and build products of a checkout git lost are not worth trusting.
        """
        self._run(["worktree", "prune"])  # forgets checkouts whose folder or .git file is gone
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
        self._check(["worktree", "add", "--force", "--detach", "--quiet", "--", str(path), commit])

    def export(self, commit: str, target: Path) -> None:
        """Write the files of ``commit`` into ``target`` (no .git): a plain copy of one point."""
        import tarfile

        args = ["archive", "--format=tar", "--end-of-options", commit]
        with self._popen_bytes(args) as proc:
            assert proc.stdout is not None
            with tarfile.open(fileobj=proc.stdout, mode="r|") as archive:
                archive.extractall(target, filter="tar")
            if proc.wait() != 0:
                err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
                raise GitFailure(f"git archive {commit[:12]} failed: {err}")

    def maintain(self) -> None:
        """``git gc --auto``, in the foreground: ``gitgrid optimize`` writes a small pack per batch, and
        git packs them together once there are many (gc.autoPackLimit)."""
        self._run(["-c", "gc.autoDetach=false", "gc", "--auto", "--quiet"])

    def config(self, key: str) -> str | None:
        """A git config value (repository, user or system), or None."""
        result = self._run(["config", "--get", key])
        return result.stdout.strip() if result.returncode == 0 else None

    # plumbing ---------------------------------------------------------------------------------------
    def _run(self, args: Sequence[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_git(args, self.root, stdin)

    def _check(self, args: Sequence[str], stdin: str | None = None) -> str:
        result = self._run(args, stdin)
        if result.returncode != 0:
            raise GitFailure(f"git {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def _popen(self, args: Sequence[str]) -> subprocess.Popen[str]:
        return subprocess.Popen(
            ["git", *args], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def _popen_bytes(
        self, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["git", *args], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )

    @staticmethod
    def _wait(proc: subprocess.Popen[str], args: Sequence[str]) -> None:
        if proc.wait() != 0:
            err = proc.stderr.read().strip() if proc.stderr else ""
            raise GitFailure(f"git {args[0]} failed: {err}")


def _records(proc: subprocess.Popen[bytes], width: int) -> Iterator[list[tuple[str, ...]]]:
    """Records of ``width`` fields as ``git log -z`` (each field ended by NUL) or ``git rev-list`` (one id
    a line) prints them, by chunks of what the pipe holds; a git failure raises :class:`GitFailure`."""
    end = b"\0" if width > 1 else b"\n"
    stdout = proc.stdout
    assert stdout is not None
    pending = b""
    while data := os.read(stdout.fileno(), _READ):
        pending += data
        ends = pending.count(end)
        complete = ends - ends % width  # fields of whole records
        if not complete:
            continue
        cut = len(pending)
        for _ in range(ends - complete + 1):  # back to the end of the last whole record
            cut = pending.rindex(end, 0, cut)
        fields = pending[:cut].decode("utf-8", "replace").split(end.decode())
        pending = pending[cut + 1 :]
        yield [(f,) for f in fields] if width == 1 else list(zip(*[iter(fields)] * width, strict=True))
    if proc.wait() != 0 or pending:
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        raise GitFailure(f"git {'log' if width > 1 else 'rev-list'} failed: {err or 'incomplete output'}")


_READ = 1 << 20
_PIPE = 1 << 20  # git runs this far ahead of the reader (the default pipe holds 64 KiB)


def _widen(proc: subprocess.Popen[bytes]) -> None:
    """Let git write ``_PIPE`` bytes ahead of its reader where Linux allows it (else keep the default)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None and proc.stdout is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(proc.stdout.fileno(), setsize, _PIPE)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``proc`` if the reader left early, and release it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


class CommitTree:
    """Files of one commit, read through GitPython's persistent ``cat-file`` process."""

    def __init__(self, commit: git.Commit) -> None:
        self._tree = commit.tree

    def mode(self, path: str) -> str | None:
        """The entry's mode (``100755`` an executable, ``040000`` a folder, ...), its content unread."""
        try:
            return f"{self._tree[path].mode:06o}"
        except KeyError:
            return None

    def read(self, path: str) -> tuple[str, bytes] | None:
        try:
            item = self._tree[path]
        except KeyError:
            return None
        mode = f"{item.mode:06o}"
        if item.type == "tree":
            return mode, b""
        return mode, item.data_stream.read()
