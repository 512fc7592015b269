"""Literal-exact rewriting on real research code (#8): call sites, unit products, keyword defaults,
C++ inside main(), Fortran namelists; strings keep their quotes, bools their spelling."""

from __future__ import annotations

import json
import subprocess
import warnings

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitgrid.errors import GitgridWarning, RewriteError
from tests.rewrite.test_rewrite import one, plan, render_first

BRIAN2 = """\
import brian2 as b2
from brian2 import ms

N_EXCIT = 2000  # excitatory neurons
POISSON_INPUT_RATE = 13. * b2.Hz
TAU_M = 20. * ms
MODEL = "brunel"
USE_STDP = False


def simulate_brunel_network(
        N_Excit=5000,
        N_Inhib=None,
        J=0.1 * b2.mV,
        g=4.):
    return N_Excit, N_Inhib, J, g


def run_small():
    return simulate_brunel_network(
        N_Excit=1000,
        g=5.)


if __name__ == "__main__":
    result = simulate_brunel_network(
        n=2000, g=3.)
    simulate_brunel_network(
        N_Excit=2000, J=0.2 * b2.mV)
    # done
"""

CPP = """\
#include <cstdio>

int main(int argc, char **argv) {
    double C_eps=1.; // weight
    int N = 100, steps = 2000;
    const char *mode = "fast";
    bool verbose = false;
    float tau = 1.5e-3f;
    std::printf("eps=%g\\n", C_eps);
    return 0;
}
"""

NAMELIST = """\
&params
  start = "hot"
  eps = 20.0d0,
  tol = 1.e-3
  nsweeps = 1000
  verbose = .true.
  seeds = 1, 2, 3
/
"""


def brian2(params: str) -> str:
    return render_first(f"files: [net.py]\nparams:\n{params}\n", {"net.py": BRIAN2.encode()})[
        "net.py"
    ].decode()


def changed(before: str, after: str) -> list[tuple[str, str]]:
    """The lines that differ, in pairs: everything else must be byte for byte the same."""
    pairs = list(zip(before.splitlines(keepends=True), after.splitlines(keepends=True), strict=True))
    return [(a, b) for a, b in pairs if a != b]


def test_call_site_keeps_everything_after_the_value() -> None:
    out = brian2("  n: {values: [1000], all: true}\n  g: {values: [2.5], after: 'def simulate_brunel'}")
    assert changed(BRIAN2, out) == [
        ("        g=4.):\n", "        g=2.5):\n"),
        ("        n=2000, g=3.)\n", "        n=1000, g=3.)\n"),
    ]
    compile(out, "net.py", "exec")  # still Python


def test_a_unit_product_is_an_error_naming_file_line_expression_and_ways_out() -> None:
    with pytest.raises(RewriteError) as caught:
        brian2("  POISSON_INPUT_RATE: 12.")
    message = str(caught.value)
    assert message.startswith("net.py:5: param 'POISSON_INPUT_RATE': '13. * b2.Hz' is not a single literal")
    assert 'format: "{} * b2.Hz"' in message and "replace: expression" in message
    assert "\n" not in message


def test_the_two_ways_out_of_a_unit_product() -> None:
    with_unit = brian2("  POISSON_INPUT_RATE: {values: [12.], format: '{} * b2.Hz'}")
    assert changed(BRIAN2, with_unit) == [
        ("POISSON_INPUT_RATE = 13. * b2.Hz\n", "POISSON_INPUT_RATE = 12.0 * b2.Hz\n")
    ]
    bare = brian2("  POISSON_INPUT_RATE: {values: [12.], replace: expression}")
    assert changed(BRIAN2, bare) == [("POISSON_INPUT_RATE = 13. * b2.Hz\n", "POISSON_INPUT_RATE = 12.0\n")]


def test_a_format_that_writes_only_the_number_does_not_drop_the_unit() -> None:
    with pytest.raises(RewriteError, match=r"net.py:6: param 'TAU_M': '20. \* ms' is not a single literal"):
        brian2("  TAU_M: {values: [12.], format: '{:.2f}'}")


def test_keyword_default_and_call_sites_name_each_line_and_how_to_pick() -> None:
    with pytest.raises(RewriteError) as caught:
        brian2("  N_Excit: 3000")
    message = str(caught.value)
    assert "target 'N_Excit' of param 'N_Excit' is assigned 3 times (lines 12, 21, 29)" in message
    assert "line 12 'N_Excit=5000,' in 'def simulate_brunel_network('" in message
    assert "line 21 'N_Excit=1000,' in 'return simulate_brunel_network('" in message
    assert "line 29 'N_Excit=2000, J=0.2 * b2.mV)' in 'simulate_brunel_network('" in message
    assert 'Pick one with after: "def simulate_brunel_network("' in message and "line: N" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("choice", "line"),
    [
        ("after: 'def simulate_brunel_network('", "        N_Excit=3000,\n"),
        ("after: 'def run_small'", "        N_Excit=3000,\n"),
        ("after: '__main__'", "        N_Excit=3000, J=0.2 * b2.mV)\n"),
        ("line: 21", "        N_Excit=3000,\n"),
    ],
)
def test_a_param_picks_one_assignment(choice: str, line: str) -> None:
    out = brian2(f"  N_Excit: {{values: [3000], {choice}}}")
    assert len(changed(BRIAN2, out)) == 1 and changed(BRIAN2, out)[0][1] == line
    compile(out, "net.py", "exec")


def test_picking_by_text_survives_lines_moving() -> None:
    spec = "files: [net.py]\nparams:\n  N_Excit: {values: [3000], after: 'def run_small'}\n"
    moved = "# a header added later\n" * 7 + BRIAN2
    out = render_first(spec, {"net.py": moved.encode()})["net.py"].decode()
    assert changed(moved, out) == [("        N_Excit=1000,\n", "        N_Excit=3000,\n")]


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("after: 'nowhere'", r"after 'nowhere': no line of the file holds this text"),
        ("after: 'simulate_brunel_network('", r"4 lines hold this text \(11, 20, 26, 28\)"),
        ("line: 3", r"has 'line: 3', but target 'N_Excit' is assigned on line\(s\) 12, 21, 29"),
        ("after: '# done'", r"target 'N_Excit' is not assigned at or after line 30"),
    ],
)
def test_a_pick_that_finds_nothing_says_so(choice: str, message: str) -> None:
    with pytest.raises(RewriteError, match=message):
        brian2(f"  N_Excit: {{values: [3000], {choice}}}")


def test_cpp_main() -> None:
    spec = "files: [main.cpp]\nparams:\n  C_eps: [5, 10, 20.5]\n  N: 50\n  mode: slow\n  verbose: true\n  tau: 2e-3\n"
    out = render_first(spec, {"main.cpp": CPP.encode()})["main.cpp"].decode()
    assert changed(CPP, out) == [
        ("    double C_eps=1.; // weight\n", "    double C_eps=5; // weight\n"),
        ("    int N = 100, steps = 2000;\n", "    int N = 50, steps = 2000;\n"),
        ('    const char *mode = "fast";\n', '    const char *mode = "slow";\n'),
        ("    bool verbose = false;\n", "    bool verbose = true;\n"),
        ("    float tau = 1.5e-3f;\n", "    float tau = 0.002;\n"),
    ]


def test_fortran_namelist() -> None:
    spec = "files: [run.nml]\nparams:\n  start: [cold]\n  eps: 5.\n  tol: 1e-4\n  verbose: false\n  nsweeps: 10\n"
    out = render_first(spec, {"run.nml": NAMELIST.encode()})["run.nml"].decode()
    assert changed(NAMELIST, out) == [
        ('  start = "hot"\n', '  start = "cold"\n'),
        ("  eps = 20.0d0,\n", "  eps = 5.0,\n"),
        ("  tol = 1.e-3\n", "  tol = 0.0001\n"),
        ("  nsweeps = 1000\n", "  nsweeps = 10\n"),
        ("  verbose = .true.\n", "  verbose = .false.\n"),
    ]
    with pytest.raises(RewriteError, match=r"run.nml:7: param 'seeds': '1, 2, 3' is not a single literal"):
        render_first("files: [run.nml]\nparams:\n  seeds: 4\n", {"run.nml": NAMELIST.encode()})


def test_a_double_precision_literal_in_fortran_source_warns() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert one("m.f90", "  real(8) :: dt = 1.0d-3\n", "dt: 0.1") == "  real(8) :: dt = 0.1\n"
        assert one("m.f90", "  real(8) :: dt = 1.0d-3\n", "dt: {values: [0.1], format: '{}_8'}") == (
            "  real(8) :: dt = 0.1_8\n"
        )
    messages = [str(w.message) for w in caught if isinstance(w.message, GitgridWarning)]
    assert (
        len(messages) == 1
        and "m.f90:1: param 'dt' replaces the double-precision literal '1.0d-3'" in messages[0]
    )


@pytest.mark.parametrize(
    "token",
    [
        "20.0d0", "1.e-3", ".5", "1E5", "3.", "-30.", "+2", "0x1F", "1_000", "1.0_dp", "3.0f", "10UL", "1f0",
        "inf", "-Inf", "NaN", "None", "null", "'s'", '"s"', "'it''s'", '"a\\"b"', ".TRUE.", "True", "false",
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    ("layout", "path"),
    [
        ("x = {}  # c\n", "m.py"),
        ("    x={}, y=3)\n", "m.py"),
        ("        x={}):\n", "m.py"),
        ("    x={},\n", "m.py"),
        ("double x = {}; // c\n", "m.c"),
        ("  x = {},\n", "m.nml"),
        ('  "x": {},\n', "c.json"),
        ("#define x {} /* c */\n", "m.h"),
    ],
)
def test_every_spelling_of_a_literal_is_replaced_exactly(token: str, layout: str, path: str) -> None:
    assert one(path, layout.format(token), "x: 7") == layout.format("7")


@pytest.mark.parametrize(
    "expression",
    [
        "13. * b2.Hz",
        "f(1)",
        "1 + 2",
        "-y",
        "np.pi",
        "[1, 2]",
        "(1, 2)",
        "1, 2",
        "2 ** 3",
        "10*ms",
        "a if b else c",
    ],
)
def test_anything_but_one_literal_is_an_error(expression: str) -> None:
    with pytest.raises(RewriteError, match=r"m.py:1: param 'x': .* is not a single literal"):
        one("m.py", f"x = {expression}  # c\n", "x: 7")
    assert one("m.py", f"x = {expression}  # c\n", "x: {values: [7], replace: expression}") == "x = 7  # c\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("#define DT (0.1)\n", "#define DT (7)\n"),
        ("const double DT = ( 1e-3 );\n", "const double DT = ( 7 );\n"),
    ],
)
def test_a_parenthesised_literal_keeps_its_parentheses(before: str, after: str) -> None:
    assert one("m.h", before, "DT: 7") == after
    with pytest.raises(RewriteError, match=r"'\(0.1 \* 2\)' is not a single literal"):
        one("m.h", "#define DT (0.1 * 2)\n", "DT: 7")


def test_the_canonical_styles_are_byte_identical() -> None:
    text = "        self.weightEE = 3.\n        self.param1 = 1.0  # weight E->E\n"
    spec = "files: [m.py]\nparams:\n  weightEE: 3.\n  param1: 3.0\n"
    out = render_first(spec, {"m.py": text.encode()})["m.py"]
    assert out == b"        self.weightEE = 3.0\n        self.param1 = 3.0  # weight E->E\n"


def test_a_format_overrides_the_quotes() -> None:
    assert one("m.py", 'x = "hot"\n', "x: {values: [cold], format: '{}'}") == "x = cold\n"
    assert one("m.py", 'x = "hot"\n', "x: {values: [cold], format: \"'{}'\"}") == "x = 'cold'\n"
    assert one("m.py", "x = 1\n", "x: cold") == "x = cold\n"  # no quotes to keep: written as given


def written(path: str, before: str, value: str) -> str:
    rewriter = plan("files: [" + path + "]\nparams:\n  x: placeholder\n", {path: before.encode()})
    out = rewriter.render(0, 1, [value], [value])
    return out[0].data.decode()


printable = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=30)


@settings(max_examples=60, deadline=None)
@given(printable)
def test_strings_survive_every_quote_style(value: str) -> None:
    """A string written into a quoted literal reads back as exactly that string in the file's language."""
    for before in ('x = "a"\n', "x = 'a'\n"):
        namespace: dict[str, object] = {}
        exec(written("m.py", before, value), namespace)
        assert namespace["x"] == value
    assert json.loads("{" + written("c.json", '"x": "a"\n', value) + "}")["x"] == value
    for before in ('x: "a"\n', "x: 'a'\n"):
        assert yaml.safe_load(written("c.yaml", before, value))["x"] == value


@settings(max_examples=15, deadline=None)
@given(printable)
def test_strings_survive_shell_quotes(value: str) -> None:
    for before in ('x="a"\n', "x='a'\n"):
        script = written("run.sh", before, value) + 'printf %s "$x"\n'
        assert (
            subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True).stdout == value
        )


def test_fortran_and_yaml_double_their_quotes() -> None:
    assert written("m.nml", "  x = 'hot'\n", "it's") == "  x = 'it''s'\n"
    assert written("m.f90", '  x = "a"\n', 'say "hi"') == '  x = "say ""hi"""\n'
    assert written("m.jl", 'x = "a"\n', "$HOME") == 'x = "\\$HOME"\n'
