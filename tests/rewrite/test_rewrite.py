"""Rewriting files: every assignment style, byte-for-byte preservation, errors, templates and paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from gitgrid.errors import RewriteError
from gitgrid.rewrite.paths import resolve_path
from gitgrid.rewrite.plan import Rewriter, plan_rewrites
from gitgrid.spec.reader import parse_spec
from gitgrid.spec.space import Space


class FakeTree:
    """A base tree in memory: path -> content (bytes), or (mode, content) for links and executables."""

    def __init__(self, files: Mapping[str, bytes | tuple[str, bytes]]) -> None:
        self.files = {p: v if isinstance(v, tuple) else ("100644", v) for p, v in files.items()}

    def read(self, path: str) -> tuple[str, bytes] | None:
        if path in self.files:
            return self.files[path]
        if any(p.startswith(path + "/") for p in self.files):
            return ("040000", b"")
        return None


def plan(spec: str, files: Mapping[str, bytes | tuple[str, bytes]]) -> Rewriter:
    return plan_rewrites(parse_spec(spec, "spec.yaml"), FakeTree(files))


def render_first(spec: str, files: Mapping[str, bytes | tuple[str, bytes]]) -> dict[str, bytes]:
    rewriter = plan(spec, files)
    space = Space(rewriter.spec)
    values = next(space.rows())
    rendered = rewriter.render(0, len(space), values, rewriter.texts(values))
    return {r.file.path: r.data for r in rendered}


def one(path: str, before: str, param: str = "x: 0.5") -> str:
    spec = f"files: [{path}]\nparams:\n  {param}\n"
    return render_first(spec, {path: before.encode()})[path].decode()


@pytest.mark.filterwarnings("ignore:.*double-precision literal:gitgrid.errors.GitgridWarning")
@pytest.mark.parametrize(
    ("path", "before", "after"),
    [
        ("m.py", "    x = 1.0  # keep me\n", "    x = 0.5  # keep me\n"),
        ("m.py", "        self.x = 3.\n", "        self.x = 0.5\n"),
        ("m.py", "x: float = 1.0\n", "x: float = 0.5\n"),
        ("m.py", "model = Model(\n    x=1,\n)\n", "model = Model(\n    x=0.5,\n)\n"),
        ("m.py", "cfg = {\n    'x': 1,\n}\n", "cfg = {\n    'x': 0.5,\n}\n"),
        ("m.c", "static const double x = 1.0; // step\n", "static const double x = 0.5; // step\n"),
        ("m.c", "double x=1.0;/* c */\n", "double x=0.5;/* c */\n"),
        ("m.h", "#define x 10 /* n */\n", "#define x 0.5 /* n */\n"),
        ("m.h", "#  define x 10\n", "#  define x 0.5\n"),
        ("m.f90", "  real(8), parameter :: x = 1.0d0 ! dt\n", "  real(8), parameter :: x = 0.5 ! dt\n"),
        ("m.f", "      x = 1.0\n", "      x = 0.5\n"),
        ("m.jl", "const x = 1.0\n", "const x = 0.5\n"),
        ("m.jl", "x::Float64 = 1.0\n", "x::Float64 = 0.5\n"),
        ("m.R", "x <- 1.0  # r\n", "x <- 0.5  # r\n"),
        ("run.sh", "x=1\n", "x=0.5\n"),
        ("run.sh", "export x=1 # e\n", "export x=0.5 # e\n"),
        ("m.m", "x = 1.0; % matlab\n", "x = 0.5; % matlab\n"),
        ("c.yaml", "model:\n  x: 1.0  # yaml\n", "model:\n  x: 0.5  # yaml\n"),
        ("c.yaml", "- x: 1.0\n", "- x: 0.5\n"),
        ("c.json", '{\n  "x": 1.0,\n  "y": 2\n}\n', '{\n  "x": 0.5,\n  "y": 2\n}\n'),
        ("c.toml", "x = 1.0\n", "x = 0.5\n"),
        ("c.ini", "x = 1.0 ; ini\n", "x = 0.5 ; ini\n"),
        ("m.py", "x = 'a # b'  # c\n", "x = 0.5  # c\n"),
        ("m.py", "if x := 1:\n", "if x := 0.5:\n"),
        ("m.c", "std::size_t x = 4;\n", "std::size_t x = 0.5;\n"),
    ],
)
def test_assignment_styles_keep_everything_but_the_value(path: str, before: str, after: str) -> None:
    assert one(path, before) == after


@pytest.mark.parametrize(
    ("path", "before", "after"),
    [
        # before #8 these were replaced whole, silently; now they need the explicit opt-in
        ("m.c", "double x = 1/3; // third\n", "double x = 0.5; // third\n"),
        ("m.py", "x = [1, 2]\n", "x = 0.5\n"),
        ("m.py", "x = 1:00:00\n", "x = 0.5\n"),
    ],
)
def test_a_value_that_is_not_one_literal_needs_the_opt_in(path: str, before: str, after: str) -> None:
    with pytest.raises(RewriteError, match=rf"{path}:1: param 'x': .* is not a single literal"):
        one(path, before)
    assert one(path, before, "x: {values: [0.5], replace: expression}") == after


@pytest.mark.filterwarnings("ignore::gitgrid.errors.GitgridWarning")
@pytest.mark.parametrize(
    "line",
    [
        "# x = 1\n",
        "// x = 1\n",
        "if x == 1:\n",
        "y = x = 2\n",
        "f(x=y)\n",
        "run(a, x = y)\n",
        "f(a, xx=1, b.x=1)\n",
        "f(a)  # call f(a, x=1)\n",
        "x += 1\n",
        "xx = 1\n",
        "x_y = 1\n",
        "f(a, x == 1)\n",
    ],
)
def test_lines_that_do_not_assign_the_target_are_left_alone(line: str) -> None:
    with pytest.raises(RewriteError, match=r"param 'x': target 'x' not found in m.py"):
        one("m.py", line)


@pytest.mark.parametrize(
    ("path", "before", "after"),
    [
        ("m.py", "f(x=1)\n", "f(x=0.5)\n"),
        ("m.py", "run(a, x = 1)\n", "run(a, x = 0.5)\n"),
        ("m.py", "f(a, b, x = 1,\n", "f(a, b, x = 0.5,\n"),
        ("m.py", "    n=2000, x=3.)\n", "    n=2000, x=0.5)\n"),
        ("m.c", "int steps = 2, x = 1; // two\n", "int steps = 2, x = 0.5; // two\n"),
        ("p.nml", "  n = 3, x = 1.0d0\n", "  n = 3, x = 0.5\n"),
    ],
)
def test_a_literal_keyword_or_declarator_inside_a_line_is_an_assignment(
    path: str, before: str, after: str
) -> None:
    """Left alone, it would keep a value in the code that the sweep does not record (#8)."""
    assert one(path, before) == after


def test_every_assignment_counts_so_all_true_misses_none_and_the_error_lists_each() -> None:
    net = "def run(g=4.):\n    pass\nrun(\n    g=3.)\nrun(n=2000, g=3.)\nrun(n=1, g=g)\n"
    with pytest.raises(RewriteError, match=r"assigned 3 times \(lines 1, 4, 5\)"):
        one("net.py", net, "g: 2.5")
    out = one("net.py", net, "g: {values: [2.5], all: true}")
    assert out == "def run(g=2.5):\n    pass\nrun(\n    g=2.5)\nrun(n=2000, g=2.5)\nrun(n=1, g=g)\n"
    assert one("net.py", net, "g: {values: [2.5], after: 'run(n=2000'}").count("g=2.5") == 1


def test_crlf_and_non_utf8_bytes_survive() -> None:
    before = b"a = 1\r\nx = 1.0 # \xe9t\xe9\r\nb = 2\r\n"
    out = render_first("files: [m.py]\nparams:\n  x: 0.5\n", {"m.py": before})["m.py"]
    assert out == b"a = 1\r\nx = 0.5 # \xe9t\xe9\r\nb = 2\r\n"


def test_format_and_string_values() -> None:
    assert one("m.py", "x = 1\n", "x: {values: [3], format: '{:.2f}'}") == "x = 3.00\n"
    assert one("m.py", "x = 'a'\n", "x: {values: [b], format: \"'{}'\"}") == "x = 'b'\n"
    assert one("m.py", "x = 1\n", "x: 1e-5") == "x = 1e-05\n"


def test_explicit_target_matches_exactly() -> None:
    text = "self.x = 1\nx = 2\n"
    assert one("m.py", text, "x: {target: self.x, values: [5]}") == "self.x = 5\nx = 2\n"
    assert one("m.py", text, "x: {target: x, values: [5]}") == "self.x = 1\nx = 5\n"


def test_target_assigned_twice_names_file_target_and_lines() -> None:
    with pytest.raises(
        RewriteError, match=r"m.py: target 'x' of param 'x' is assigned 2 times \(lines 2, 4\)"
    ):
        one("m.py", "a = 1\nx = 1\nb = 2\nself.x = 3\n")


def test_all_true_rewrites_every_occurrence() -> None:
    text = "x = 1\nx = 2  # again\n"
    assert one("m.py", text, "x: {values: [7], all: true}") == "x = 7\nx = 7  # again\n"


def test_target_found_once_in_each_of_two_files() -> None:
    spec = "files: [a.py, b.c]\nparams:\n  x: 2\n"
    out = render_first(spec, {"a.py": b"x = 1\n", "b.c": b"int x = 1;\n"})
    assert out == {"a.py": b"x = 2\n", "b.c": b"int x = 2;\n"}


def test_custom_pattern() -> None:
    spec = "files:\n  - path: m.sli\n    pattern: '^/{target} (?P<value>\\S+) def'\nparams:\n  dt: 0.1\n"
    out = render_first(spec, {"m.sli": b"/dt 1.0 def % step\n/dtx 2 def\n"})
    assert out["m.sli"] == b"/dt 0.1 def % step\n/dtx 2 def\n"


@pytest.mark.filterwarnings("ignore:.*no param is assigned:gitgrid.errors.GitgridWarning")
@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("c.ini", "# seed = 42"),
        ("c.ini", ";seed=42"),
        ("m.py", "#seed = 42  # the default"),
        ("m.py", "    ## self.seed = 42"),
        ("c.yaml", "  # seed: 42"),
        ("c.toml", "#seed = 42"),
        ("run.sh", "# export seed=42"),
        ("m.c", "// #define seed 42"),
        ("m.c", "/* static const int seed = 42; */"),
        ("m.cpp", "//int seed = 42;"),
        ("m.f90", "  ! integer :: seed = 42"),
        ("m.m", "%% seed = 42;"),
        ("m.tex", "% seed = 42"),
        ("unknown.xyz", "! seed = 42"),
    ],
)
def test_a_target_only_commented_out_is_named_with_its_line(path: str, line: str) -> None:
    """Every comment style gitgrid knows: the error says where the commented-out line is, not only
    which forms were looked for (#16)."""
    text = f"first = 1\n{line}\nlast = 2\n"
    with pytest.raises(RewriteError) as caught:
        one(path, text, "seed: [1, 2]")
    assert str(caught.value) == (
        f"param 'seed': target 'seed' not found in {path}: {path} line 2 has it commented out: "
        f"'{line.strip()}'; gitgrid rewrites only assignments in effect: uncomment it and commit that on "
        "the branch the sweep starts from, then create the sweep again"
    )


@pytest.mark.filterwarnings("ignore:.*no param is assigned:gitgrid.errors.GitgridWarning")
def test_comments_that_do_not_assign_the_target_are_not_named() -> None:
    for text in ("# set the seed to 42\n", "# seeds = 42\n", "x = 1  # seed = 42\n", "# seed\n"):
        with pytest.raises(RewriteError, match=r"not found in m.py \(looked for 'seed = value'"):
            one("m.py", text, "seed: [1, 2]")


def test_comment_override() -> None:
    spec = "files:\n  - path: m.txt\n    comment: '--'\nparams:\n  x: 2\n"
    assert render_first(spec, {"m.txt": b"x = 1 -- lua\n"})["m.txt"] == b"x = 2 -- lua\n"


def test_value_with_a_line_break_is_an_error() -> None:
    rewriter = plan('files: [m.py]\nparams:\n  x: "a\\nb"\n', {"m.py": b"x = 1\n"})
    with pytest.raises(RewriteError, match=r"param 'x': value 'a\\nb' would put a line break"):
        rewriter.render(0, 1, ["a\nb"], ["a\nb"])


def test_missing_file_and_directory() -> None:
    with pytest.raises(RewriteError, match=r"nope.py: no such file in the base commit"):
        plan("files: [nope.py]\nparams:\n  x: 1\n", {})
    with pytest.raises(RewriteError, match=r"src: not a regular file"):
        plan("files: [src]\nparams:\n  x: 1\n", {"src/a.py": b"x = 1\n"})


def test_template_gets_params_and_point() -> None:
    template = b"#define X {{ x }}\n// {{ point.index }}/{{ point.count }} {{ point.text.y }}\n{{ y * 2 }}\n"
    spec = "files:\n  - template: t/p.h.j2\n    output: src/p.h\nparams:\n  x: [1, 2]\n  y: {values: [0.5], format: '{:.3f}'}\n"
    out = render_first(spec, {"t/p.h.j2": template})
    assert out == {"src/p.h": b"#define X 1\n// 0/2 0.500\n1.0\n"}


def test_template_keeps_crlf() -> None:
    spec = "files:\n  - template: p.j2\n    output: p.txt\nparams:\n  x: 1\n"
    assert render_first(spec, {"p.j2": b"a\r\n{{ x }}\r\n"})["p.txt"] == b"a\r\n1\r\n"


def test_template_includes_read_from_the_base_tree() -> None:
    spec = "files:\n  - template: main.j2\n    output: out.txt\nparams:\n  x: 1\n"
    files = {"main.j2": b"{% include 'inc/part.j2' %}!\n", "inc/part.j2": b"x={{ x }}"}
    assert render_first(spec, files)["out.txt"] == b"x=1!\n"


def test_template_with_undefined_variable_names_its_line() -> None:
    spec = "files:\n  - template: p.j2\n    output: p.txt\nparams:\n  x: 1\n"
    with pytest.raises(
        RewriteError, match=r"p.j2:2: template uses undefined variable 'y' \(defined: point, x\)"
    ):
        plan(spec, {"p.j2": b"{{ x }}\n{{ y }}\n"})


def test_template_undefined_attribute_fails_at_render_with_point_and_line() -> None:
    spec = "files:\n  - template: p.j2\n    output: p.txt\nparams:\n  x: 1\n"
    with pytest.raises(RewriteError, match=r"p.j2:3: template failed for point 0: .*nope"):
        render_first(spec, {"p.j2": b"{{ x }}\n\n{{ point.nope }}\n"})


def test_template_syntax_error() -> None:
    spec = "files:\n  - template: p.j2\n    output: p.txt\nparams:\n  x: 1\n"
    with pytest.raises(RewriteError, match=r"p.j2:2: template syntax error"):
        plan(spec, {"p.j2": b"ok\n{% if x %}\n"})


def test_param_used_only_by_a_template_counts_as_found() -> None:
    spec = "files:\n  - m.py\n  - template: p.j2\n    output: p.txt\nparams:\n  x: 1\n  y: 2\n"
    out = render_first(spec, {"m.py": b"x = 0\n", "p.j2": b"{{ y }}\n"})
    assert out == {"m.py": b"x = 1\n", "p.txt": b"2\n"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("../outside.py", "leads outside the repository"),
        ("/etc/passwd", "relative to the repository's top"),
        ("src/../../x", "leads outside the repository"),
        (".git/config", "does not write inside .git"),
        ("out/x.py", r"goes through symlink out -> \.\./\.\., outside the repository"),
        ("abs/x.py", r"goes through symlink abs -> /tmp, outside the repository"),
    ],
)
def test_paths_must_stay_inside_the_repository(path: str, message: str) -> None:
    tree = FakeTree({"out": ("120000", b"../.."), "abs": ("120000", b"/tmp")})
    with pytest.raises(RewriteError, match=message):
        resolve_path(path, tree)


def test_symlink_inside_the_repository_is_followed() -> None:
    tree = FakeTree({"link": ("120000", b"src"), "src/m.py": b"x = 1\n"})
    assert resolve_path("./link/m.py", tree) == "src/m.py"
    spec = "files: [link/m.py]\nparams:\n  x: 2\n"
    assert render_first(spec, tree.files) == {"src/m.py": b"x = 2\n"}


def test_template_output_outside_the_repository() -> None:
    spec = "files:\n  - template: p.j2\n    output: ../p.txt\nparams:\n  x: 1\n"
    with pytest.raises(RewriteError, match=r"\.\./p.txt: leads outside the repository"):
        plan(spec, {"p.j2": b"{{ x }}"})


def test_two_params_on_one_line_is_an_overlap() -> None:
    spec = "files: [m.py]\nparams:\n  x: 1\n  y: {target: x, values: [2]}\n"
    with pytest.raises(RewriteError, match=r"m.py:1: params overlap"):
        plan(spec, {"m.py": b"x = 0\n"})


NEAT_CONFIG = """\
[NEAT]
fitness_criterion     = max
fitness_threshold     = 3.9
pop_size              = 150
reset_on_extinction   = False

[DefaultGenome]
activation_default      = sigmoid
bias_init_mean          = 0.0
# the run's random seed; neat-python seeds from the clock when it is absent
# seed = 42
"""


def test_create_names_the_commented_out_key_of_an_ini_file(tmp_path: Path) -> None:
    """The test of record (#16): ``seed: [1, 2]`` on a config whose line 11 is ``# seed = 42``: one line,
    exit 2, naming the line and what to do; nothing written."""
    from tests.helpers import cli, make_repo, refs

    repo = make_repo(tmp_path / "neat", {"config-feedforward.ini": NEAT_CONFIG})
    (repo / "spec.yaml").write_text("files: [config-feedforward.ini]\nparams:\n  seed: [1, 2]\n")
    before = refs(repo)
    made = cli("create", "spec.yaml", repo=repo)
    assert made.exit_code == 2
    assert made.stderr.splitlines()[-1] == (
        "gitgrid: error: param 'seed': target 'seed' not found in config-feedforward.ini: "
        "config-feedforward.ini line 11 has it commented out: '# seed = 42'; gitgrid rewrites only "
        "assignments in effect: uncomment it and commit that on the branch the sweep starts from, then "
        "create the sweep again"
    )
    assert refs(repo) == before
