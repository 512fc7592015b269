"""A spec read as a search: bounds, scales, integers, starts, fixed and categorical params, refusals."""

from __future__ import annotations

import pytest

from gitgrid.errors import SpecError
from gitgrid.optimize.search import search_space
from gitgrid.spec.reader import parse_spec

SPEC = """\
files: []
params:
  rate: {range: [3.0, 0.5, -0.5]}
  n: {range: [1, 10, 3]}
  dt: {logspace: [-4, -1, 4]}
  w: {linspace: [0, 1, 11], start: 0.25}
  fixed: 7
  kind: [a, b, c]
"""


def test_each_kind_of_param_becomes_a_dimension_with_its_start() -> None:
    search = search_space(parse_spec(SPEC, "spec.yaml"))
    dims = {d.name: d for d in search.box.dims}
    assert (dims["rate"].low, dims["rate"].high, dims["rate"].integer) == (0.5, 3.0, False)
    assert (dims["n"].low, dims["n"].high, dims["n"].integer) == (1, 10, True)
    assert (dims["dt"].low, dims["dt"].high, dims["dt"].log) == pytest.approx((1e-4, 0.1, True))
    assert dims["kind"].choices == ("a", "b", "c")
    assert dict(zip(search.box.names, search.start, strict=True)) == {
        "rate": 1.75, "n": 6, "dt": pytest.approx(10**-2.5), "w": 0.25, "kind": "a",
    }  # fmt: skip
    assert search.fixed == {"fixed": 7}
    values = search.values((1.0, 3, 0.01, 0.5, "b"))
    assert values == (1.0, 3, 0.01, 0.5, 7, "b")  # in the spec's order, the fixed one in its place


def test_a_start_is_checked_against_its_param() -> None:
    cases = {
        "n: {range: [1, 10], start: 2.5}": "spec.yaml:3: param 'n': start 2.5 must be a whole number",
        "n: {range: [1, 10], start: 0}": "spec.yaml:3: param 'n': start 0 lies outside its bounds [1.0, 10.0]",
        "n: {values: [x, y], start: z}": "spec.yaml:3: param 'n': start 'z' is not one of its values",
        "n: {values: [x], start: x}": "spec.yaml:3: param 'n': has one value, so 'start' has nothing to choose",
        "n: {range: [1, 10], start: x}": "spec.yaml:3: param 'n': start 'x' must be a number",
        "n: {range: [2.0, 2.0]}": "spec.yaml:3: param 'n': its bounds [2.0, 2.0] must have min < max",
    }
    for line, message in cases.items():
        with pytest.raises(SpecError) as caught:
            search_space(parse_spec(f"files: []\nparams:\n  {line}\n", "spec.yaml"))
        assert message in str(caught.value), line


def test_what_only_a_grid_means_is_refused() -> None:
    for extra in ("zip: [[a, b]]", "where: a > b", "sample: {random: 2}"):
        spec = parse_spec(
            f"files: []\nparams:\n  a: {{range: [0, 1, 0.5]}}\n  b: [1, 2]\n{extra}\n", "s.yaml"
        )
        with pytest.raises(SpecError, match="shapes a grid; gitgrid optimize cannot use it"):
            search_space(spec)
    with pytest.raises(SpecError, match="no param to search"):
        search_space(parse_spec("files: []\nparams:\n  a: 1\n", "s.yaml"))


def test_grids_ignore_start() -> None:
    spec = parse_spec("files: []\nparams:\n  a: {range: [0, 2], start: 1}\n", "s.yaml")
    assert list(spec.params[0].axis) == [0, 1, 2] and spec.params[0].start == 1
