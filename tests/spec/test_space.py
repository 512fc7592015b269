"""The space: exact values, order, zip, where, sample, laziness."""

from __future__ import annotations

import tracemalloc
import warnings
from math import prod
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitgrid.errors import GitgridWarning, SpecError
from gitgrid.spec.reader import parse_spec
from gitgrid.spec.space import Space
from gitgrid.spec.values import format_value


def space(params: str, extra: str = "") -> Space:
    return Space(parse_spec(f"files: []\nparams:\n{params}\n{extra}"))


def values(text: str) -> list[str]:
    """The texts written for a one-param space given as its YAML value."""
    return [format_value(p.params["x"]) for p in space(f"  x: {text}")]


def test_range_of_tenths_is_exact() -> None:
    assert values("{range: [0, 1, 0.1]}") == [f"{i / 10}" for i in range(11)]
    assert "0.30000000000000004" not in values("{range: [0, 1, 0.1]}")


def test_range_includes_stop_only_on_the_grid() -> None:
    assert values("{range: [0, 1, 0.3]}") == ["0.0", "0.3", "0.6", "0.9"]
    assert values("{range: [1, 10, 3]}") == ["1", "4", "7", "10"]


def test_descending_float_range_writes_python_floats() -> None:
    assert values("{range: [-5., -30., -5.]}") == ["-5.0", "-10.0", "-15.0", "-20.0", "-25.0", "-30.0"]


def test_ints_stay_ints_and_floats_stay_floats() -> None:
    assert values("{range: [-5, -30, -5]}") == ["-5", "-10", "-15", "-20", "-25", "-30"]
    assert values("[3, 3., 1e-4, 2.5e3, abc]") == ["3", "3.0", "0.0001", "2500.0", "abc"]


def test_linspace_and_logspace_are_exact() -> None:
    assert values("{linspace: [0.1, 0.5, 5]}") == ["0.1", "0.2", "0.3", "0.4", "0.5"]
    assert values("{linspace: [2, 3, 1]}") == ["2.0"]
    assert values("{logspace: [-4, -1, 4]}") == ["0.0001", "0.001", "0.01", "0.1"]
    assert values("{logspace: [0, 3, 4, 2]}") == ["1.0", "2.0", "4.0", "8.0"]
    assert values("{linspace: [0, 1, 4]}") == ["0.0", "0.3333333333333333", "0.6666666666666666", "1.0"]


def test_order_is_cartesian_first_param_outermost() -> None:
    points = list(space("  a: [1, 2]\n  b: [x, y, z]"))
    assert [(p.params["a"], p.params["b"]) for p in points] == [
        (1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z"),
    ]  # fmt: skip
    assert [p.index for p in points] == list(range(6))


def test_zip_group_moves_as_one_at_its_first_members_place() -> None:
    s = space("  dt: [0.1, 0.05]\n  n: [1, 2, 3]\n  rate: {linspace: [1, 2, 2]}", "zip: [[dt, rate]]")
    rows = [tuple(p.params.values()) for p in s]
    assert rows[:3] == [(0.1, 1, 1.0), (0.1, 2, 1.0), (0.1, 3, 1.0)]
    assert rows[3] == (0.05, 1, 2.0)
    assert len(s) == 6


def test_zip_of_unequal_lengths_is_an_error() -> None:
    with pytest.raises(SpecError, match=r"zip group \[dt, rate\] has unequal lengths \(dt=2, rate=3\)"):
        space("  dt: [0.1, 0.05]\n  rate: [1, 2, 3]", "zip: [[dt, rate]]")


def test_where_filters_points() -> None:
    s = space("  a: {range: [1, 4]}\n  b: {range: [1, 4]}", "where: 'a < b and not b == 4'")
    assert [(p.params["a"], p.params["b"]) for p in s] == [(1, 2), (1, 3), (2, 3)]
    assert len(s) == 3


def test_sample_is_seeded_in_grid_order_and_applies_after_where() -> None:
    def sample(seed: int) -> list[int]:
        s = space("  a: {range: [0, 99]}", f"where: a % 2 == 0\nsample: {{random: 5, seed: {seed}}}")
        return [int(p.params["a"]) for p in s]

    first = sample(7)
    assert first == sample(7) and first != sample(8)
    assert first == sorted(first) and len(first) == 5 and all(a % 2 == 0 for a in first)


def test_sample_without_where_picks_from_a_huge_grid() -> None:
    s = space("  a: {range: [0, 999999]}\n  b: {range: [0, 999999]}", "sample: {random: 3, seed: 1}")
    assert len(s) == 3 and len(list(s)) == 3


HUGE = "  a: {range: [1, 100000000]}\n  b: {range: [1, 100000000]}\n  c: {range: [1, 100000000]}"


def test_sample_of_a_10_to_the_24_point_space_is_seeded_and_in_grid_order() -> None:
    """More points than a C ssize_t counts: random.sample(range(...)) overflowed here (#16)."""

    def sample(seed: int) -> list[tuple[int, ...]]:
        s = space(HUGE, f"sample: {{random: 50, seed: {seed}}}")
        assert s.grid_size == 10**24 and len(s) == 50
        return [tuple(int(v) for v in p.params.values()) for p in s]

    first = sample(3)
    assert first == sample(3) and first != sample(4)
    assert len(set(first)) == 50 and first == sorted(first)
    assert all(1 <= v <= 10**8 for point in first for v in point)
    assert len({point[0] for point in first}) > 40  # spread over the whole grid, not one corner of it


def test_sample_positions_are_uniform_and_keep_the_samples_of_smaller_spaces() -> None:
    """Floyd's algorithm (beyond sys.maxsize) picks each position as often as random.sample does; a
    space that random.sample can count keeps exactly the points it gave before."""
    import random
    import sys

    from gitgrid.spec.space import _choose

    assert _choose(1000, 5, 7) == sorted(random.Random(7).sample(range(1000), 5))
    huge = sys.maxsize * 4
    seen = [0, 0, 0, 0]
    for seed in range(2000):
        for position in _choose(huge, 2, seed):
            seen[position * 4 // huge] += 1
    assert all(850 < quarter < 1150 for quarter in seen), seen  # 1000 expected in each quarter


def test_a_sample_beyond_a_sweep_is_one_line_with_its_place(tmp_path: Path) -> None:
    from tests.helpers import cli, make_repo

    repo = make_repo(tmp_path / "repo", {"m.py": "a = 1\nb = 2\nc = 3\n"})
    (repo / "spec.yaml").write_text(f"files: [m.py]\nparams:\n{HUGE}\nsample: {{random: 50, seed: 3}}\n")
    made = cli("create", "spec.yaml", repo=repo)
    assert made.exit_code == 0, made.output
    listed = cli("list", "--format", "tsv", repo=repo).stdout.splitlines()
    assert len(listed) == 51
    (repo / "spec.yaml").write_text(f"files: [m.py]\nparams:\n{HUGE}\nsample: {{random: 200000000}}\n")
    refused = cli("create", "--force", "spec.yaml", repo=repo)
    assert refused.exit_code == 2
    assert refused.stderr.strip().splitlines() == [
        f"gitgrid: error: {repo / 'spec.yaml'}:6: sample 'random' is 2e+08; a sweep has at most 1e+08 points "
        "(one commit each)"
    ]


def test_sample_larger_than_the_space_takes_all_with_a_warning() -> None:
    s = space("  a: [1, 2, 3]", "sample: {random: 10}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(s) == 3
    assert any(isinstance(w.message, GitgridWarning) and "asks for 10" in str(w.message) for w in caught)
    assert [p.params["a"] for p in s] == [1, 2, 3]


def test_count_of_a_huge_grid_costs_nothing() -> None:
    s = space("  a: {range: [1, 1000000]}\n  b: {range: [1, 1000000]}")
    assert len(s) == 10**12


def test_iteration_runs_in_constant_memory() -> None:
    s = space("  a: {range: [0, 999]}\n  b: {range: [0, 0.199, 0.001]}")
    assert len(s) == 200_000
    tracemalloc.start()
    n = sum(1 for _ in s.rows())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert n == 200_000
    assert peak < 2_000_000, f"peak {peak} bytes: points are being kept"


def test_a_long_single_axis_is_not_materialised() -> None:
    s = space("  a: {range: [0, 9999999]}")
    tracemalloc.start()
    assert next(iter(s)).params["a"] == 0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1_000_000


axis_specs = st.one_of(
    st.lists(st.integers(-5, 5), min_size=1, max_size=4, unique=True).map(str),
    st.tuples(st.integers(-3, 3), st.integers(0, 6), st.sampled_from(["0.5", "1", "0.25"])).map(
        lambda t: f"{{range: [{t[0]}, {t[0] + t[1]}, {t[2]}]}}"
    ),
    st.tuples(st.integers(-3, 3), st.integers(1, 5)).map(lambda t: f"{{linspace: [{t[0]}, 1.5, {t[1]}]}}"),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(axis_specs, min_size=1, max_size=4))
def test_count_is_the_product_of_the_sizes(axes: list[str]) -> None:
    s = space("\n".join(f"  p{i}: {a}" for i, a in enumerate(axes)))
    sizes = [len(d) for d in s.dimensions]
    points = list(s)
    assert len(s) == prod(sizes) == len(points)
    assert [p.index for p in points] == list(range(len(points)))
    # the last param varies fastest
    if len(points) > 1 and sizes[-1] > 1:
        assert points[0].params[f"p{len(axes) - 1}"] != points[1].params[f"p{len(axes) - 1}"]


@settings(max_examples=60, deadline=None)
@given(st.integers(-50, 50), st.integers(1, 40), st.sampled_from(["0.1", "0.01", "0.2", "0.05", "0.3"]))
def test_range_values_equal_their_decimal_text(start: int, steps: int, step: str) -> None:
    from decimal import Decimal

    stop = Decimal(start) / 10 + Decimal(step) * steps
    got = values(f"{{range: [{start / 10}, {stop}, {step}]}}")
    assert len(got) == steps + 1
    for i, text in enumerate(got):
        assert float(text) == float(Decimal(start) / 10 + Decimal(step) * i)
        assert len(text) <= 12, text  # no binary float noise such as 0.30000000000000004
