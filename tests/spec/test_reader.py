"""Reading specs: every form, and every mistake reported with file, line and param."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitgrid.errors import GitgridWarning, SpecError
from gitgrid.spec.reader import load_spec, parse_spec

FULL = """\
base: master
branch: sweep-{date}
files:
  - path: src/model.py
  - template: templates/params.h.j2
    output: src/params.h
  - path: run.sh
    pattern: '^export {target}=(?P<value>\\S+)'
  - path: conf.ini
    comment: [';']
params:
  param1: 3.0
  param2: {range: [0.5, 3.0, 0.5]}
  dt: [0.1, 0.05, 0.01]
  rate: {linspace: [0.1, 0.5, 3]}
  eta: {logspace: [-4, -1, 4]}
  weightEE:
    target: self.weightEE
    values: [1, 2]
    format: "{:.2f}"
    all: true
zip: [[dt, rate]]
where: "param2 * 2 <= 6"
sample: {random: 100, seed: 7}
"""


def test_every_form_is_read() -> None:
    spec = parse_spec(FULL, "spec.yaml")
    assert spec.names == ("param1", "param2", "dt", "rate", "eta", "weightEE")
    assert [len(p.axis) for p in spec.params] == [1, 6, 3, 3, 4, 2]
    ee = spec.param("weightEE")
    assert (ee.target, ee.format, ee.all, ee.explicit_target) == ("self.weightEE", "{:.2f}", True, True)
    assert spec.param("dt").target == "dt" and not spec.param("dt").explicit_target
    assert spec.files[1].template == "templates/params.h.j2" and spec.files[1].path == "src/params.h"
    assert spec.files[2].pattern is not None and spec.files[3].comment == (";",)
    assert spec.zip == (("dt", "rate"),)
    assert spec.where is not None and spec.where({"param2": 3.0})
    assert spec.sample is not None and (spec.sample.size, spec.sample.seed) == (100, 7)
    assert (spec.base, spec.branch) == ("master", "sweep-{date}")
    assert spec.text == FULL


def test_yaml_habits_of_researchers() -> None:
    spec = parse_spec("files: []\nparams:\n  a: 3.\n  b: -30.\n  c: 1e-4\n  d: 3\n  e: [1E5, .5]\n")
    assert [p.axis[0] for p in spec.params] == [3.0, -30.0, 0.0001, 3, 100000.0]
    assert isinstance(spec.param("d").axis[0], int)


def test_values_long_form_and_plain_file_entries() -> None:
    spec = parse_spec("files: [a.py]\nparams:\n  x: {values: [1, 2]}\n")
    assert spec.files[0].path == "a.py" and list(spec.param("x").axis) == [1, 2]


def test_load_spec_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope.yaml: spec file not found"):
        load_spec(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("files: []\nparams:\n  a: [1, 2\n", r"spec.yaml:4: YAML syntax error"),
        (
            "files: []\nparams:\n  a: {arange: [0, 1, 0.1]}\n",
            r"spec.yaml:3: param 'a': unknown range kind or key 'arange'",
        ),
        ("files: []\nparams:\n  a: {range: [0, 1, 0]}\n", r"spec.yaml:3: param 'a': step is 0"),
        (
            "files: []\nparams:\n  a: 1\n  b: {range: [0, 1, -0.1]}\n",
            r"spec.yaml:4: param 'b': step -0.1 goes the wrong way: from 0 up to 1",
        ),
        (
            "files: []\nparams:\n  a: {range: [5, -5, 1]}\n",
            r"param 'a': step 1 goes the wrong way: from 5 down to -5",
        ),
        (
            "files: []\nparams:\n  a: {linspace: [0, 1, 0]}\n",
            r"spec.yaml:3: param 'a': count must be at least 1",
        ),
        ("files: []\nparams:\n  a: {linspace: [0, 1, 2.5]}\n", r"param 'a': count must be a whole number"),
        ("files: []\nparams:\n  a: {range: [0, 1, 0.1, 4]}\n", r"param 'a': 'range' takes 2 or 3 numbers"),
        ("files: []\nparams:\n  a: {range: [a, b]}\n", r"param 'a': 'range' takes a list of numbers"),
        ("files: []\nparams:\n  a: []\n", r"param 'a': no values given"),
        (
            "files: []\nparams:\n  a: [1, null]\n",
            r"param 'a': a value must be a number, a string or a bool, not null",
        ),
        ("files: []\nparams:\n  a: {values: [1], range: [0, 1]}\n", r"param 'a': give exactly one of"),
        (
            "files: []\nparams:\n  a: {values: [1], format: '{:d}x{}'}\n",
            r"param 'a': format '\{:d\}x\{\}' cannot write 1",
        ),
        (
            "files: []\nparams:\n  a: {values: [1], all: yes please}\n",
            r"param 'a': 'all' must be true or false",
        ),
        ("files: []\nparams:\n  point: 1\n", r"spec.yaml:3: param name 'point' is reserved"),
        (
            "files: []\nparams:\n  a: 1\n  a: 2\n",
            r"spec.yaml:4: YAML syntax error|spec.yaml:4: duplicate key 'a' \(first on line 3\)",
        ),
        ("files: []\nparams:\n  a: 1\nzip: [[a, b]]\n", r"spec.yaml:4: zip names unknown param 'b'"),
        (
            "files: []\nparams:\n  a: [1]\n  b: [2]\nzip: [[a, b], [b]]\n",
            r"param 'b' is in more than one zip group",
        ),
        (
            "files: []\nparams:\n  a: 1\nwhere: b > 1\n",
            r"spec.yaml:4: where: 'b > 1' uses unknown name 'b' \(known: a\)",
        ),
        (
            "files: []\nparams:\n  a: 1\nwhere: a.__class__\n",
            r"spec.yaml:4: where: 'a.__class__' in 'a.__class__': Attribute is not allowed",
        ),
        (
            "files: []\nparams:\n  a: 1\nwhere: \"__import__('os')\"\n",
            r"spec.yaml:4: where: .*this call is not allowed",
        ),
        (
            "files: []\nparams:\n  a: 1\nwhere: 'a >'\n",
            r"spec.yaml:4: where: 'a >' is not a valid expression",
        ),
        (
            "files: []\nparams:\n  a: 1\nsample: {random: 0}\n",
            r"spec.yaml:4: sample 'random' must be a whole number >= 1",
        ),
        (
            "files: []\nparams:\n  a: 1\nsample: {random: 1000000001}\n",
            r"spec.yaml:4: sample 'random' is 1e\+09; a sweep has at most 1e\+08 points \(one commit each\)$",
        ),
        (
            "files: []\nparams:\n  a: 1\nsample: {random: 5, sed: 1}\n",
            r"spec.yaml:4: unknown key in 'sample' 'sed'",
        ),
        ("files: []\nparams:\n  a: 1\nbranch: 'x-{user}'\n", r"spec.yaml:4: 'branch' may only use \{date\}"),
        ("files: []\nparams:\n  a: 1\nparms: 2\n", r"spec.yaml:4: unknown top-level key 'parms'"),
        ("params:\n  a: 1\n", r"spec.yaml:1: no 'files'"),
        ("files: []\n", r"'params' must map each param name to its values"),
        (
            "files: [{path: a.py, pattern: 'x = (\\d+)'}]\nparams:\n  a: 1\n",
            r"'pattern' must contain the placeholder \{target\}",
        ),
        (
            "files: [{path: a.py, pattern: '{target} = (\\d+)'}]\nparams:\n  a: 1\n",
            r"must have a named group \(\?P<value>",
        ),
        ("files: [{template: a.j2}]\nparams:\n  a: 1\n", r"template 'a.j2' needs an 'output' path"),
        ("files: [{path: a.py, output: b}]\nparams:\n  a: 1\n", r"unknown key for a 'path' file 'output'"),
        ("- just\n- a list\n", r"spec.yaml:1: a spec is a mapping"),
        (
            "files: []\nparams:\n  a: {values: [1, x], format: '{:.2f}'}\n",
            r"param 'a': format '\{:.2f\}' cannot write 'x'",
        ),
        (
            "files: []\nparams:\n  a: {values: [0, 27], format: '{:c}'}\n",
            r"param 'a': format '\{:c\}' cannot write 0: the 'c' type writes a character code",
        ),
        (
            'files: []\nparams:\n  a: {values: [0], format: "\\0{}"}\n',
            r"param 'a': format .* cannot write 0: a format holds the control character '\\x00'",
        ),
        (
            "files: []\nparams:\n  a: {values: [1], format: '{.x}'}\n",
            r"param 'a': format '\{.x\}' cannot write 1",
        ),
        (
            "files: []\nparams:\n  a: 1\nbranch: 'sw-{'\n",
            r"spec.yaml:4: 'branch' is not a valid name template",
        ),
        (
            "files: []\nparams:\n  a: 1\nbranch: '{date:%Y}'\n",
            r"spec.yaml:4: 'branch' is not a valid name template",
        ),
    ],
)
def test_mistakes_name_file_line_and_param(text: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(text, "spec.yaml")


def test_yaml_1_1_boolean_words_are_param_names() -> None:
    spec = parse_spec("files: []\nparams:\n  on: [1, 2]\n  off: 0.5\n  yes: [a]\n  no: 3\n  'y': 1\n")
    assert spec.names == ("on", "off", "yes", "no", "y")
    assert parse_spec("files: []\nparams:\n  flag: [on, off]\n").params[0].axis[:] == [True, False]


def test_params_that_would_share_an_environment_variable_are_warned_about(tmp_path: Path) -> None:
    """``N`` and ``n`` are both real names in a simulation: kept, but neither gets $GITGRID_PARAM_N, and
    the spec says so (either value there would be a wrong number for the other)."""
    (tmp_path / "s.yaml").write_text("files: []\nparams:\n  N: 1\n  n: 2\n  a.b: 3\n  a_b: 4\n  c: 5\n")
    with pytest.warns(GitgridWarning) as caught:
        spec = load_spec(tmp_path / "s.yaml")
    assert spec.names == ("N", "n", "a.b", "a_b", "c")
    assert [str(w.message) for w in caught] == [
        f"{tmp_path / 's.yaml'}: params 'N' and 'n' would share $GITGRID_PARAM_N, so runs do not get it; read them from "
        "$GITGRID_PARAMS (JSON) or rename one (pointing at the file's name with 'target:')",
        f"{tmp_path / 's.yaml'}: params 'a.b' and 'a_b' would share $GITGRID_PARAM_A_B, so runs do not get it; read them "
        "from $GITGRID_PARAMS (JSON) or rename one (pointing at the file's name with 'target:')",
    ]
