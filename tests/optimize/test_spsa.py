"""SPSA's maths: gains, calibration, perturbations, projection, the cap, stopping, the answer, the budget."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from gitgrid.errors import OptimizeError
from gitgrid.optimize.box import Box, Dimension, make_box
from gitgrid.optimize.curvature import Curvature
from gitgrid.optimize.gains import Gains, perturbation_size, step_gain
from gitgrid.optimize.history import Evaluation, Request, Result, drive
from gitgrid.optimize.methods import method_steps
from gitgrid.optimize.stochastic import SpsaSettings, minimum_budget


def run(
    f: Callable[[np.ndarray], float],
    x0: Sequence[float],
    budget: int,
    seed: int = 0,
    bounds: tuple[float, float] = (-5.0, 5.0),
    **settings: object,
) -> Result:
    """SPSA driven in this process, one evaluation after another."""
    box = make_box(bounds, len(x0))
    chosen = SpsaSettings(**settings)  # type: ignore[arg-type]
    steps = method_steps("spsa", box, x0, budget, seed, parallel=chosen.gradient_samples, settings=chosen)
    return drive(steps, lambda batch: [f(np.array(r.x, dtype=float)) for r in batch])


def noisy_sphere(seed: int) -> Callable[[np.ndarray], float]:
    rng = np.random.default_rng(seed)
    return lambda x: float(np.sum((x - 1.0) ** 2) + rng.normal(0.0, 0.1))


def pairs(result: Result) -> list[tuple[Evaluation, Evaluation]]:
    plus = [e for e in result.history if e.role == "theta+"]
    minus = [e for e in result.history if e.role == "theta-"]
    return list(zip(plus, minus, strict=True))


def centres(result: Result) -> np.ndarray:
    return np.array([(np.array(p.x) + np.array(m.x)) / 2 for p, m in pairs(result)])


def test_gain_sequences_follow_spalls_formulas() -> None:
    gains = Gains(a=0.3, c=0.05, A=7.0)
    assert (gains.alpha, gains.gamma) == (0.602, 0.101)
    assert gains.a_k(0) == pytest.approx(0.3 / 8.0**0.602)
    assert gains.a_k(12) == pytest.approx(0.3 / 20.0**0.602)
    assert gains.c_k(0) == pytest.approx(0.05)
    assert gains.c_k(9) == pytest.approx(0.05 / 10.0**0.101)
    assert all(gains.a_k(k + 1) < gains.a_k(k) and gains.c_k(k + 1) < gains.c_k(k) for k in range(50))


def test_perturbation_size_is_the_noise_clipped_to_its_range() -> None:
    assert perturbation_size([2.0, 2.0, 2.0, 2.0]) == 0.005  # no noise: the smallest
    assert perturbation_size([1.0, 1.1, 0.9, 1.0]) == pytest.approx(
        float(np.std([1.0, 1.1, 0.9, 1.0], ddof=1))
    )
    assert perturbation_size([0.0, 5.0, -5.0, 1.0]) == 0.1  # much noise: the largest
    assert perturbation_size([3.0]) == 0.005


def test_step_gain_aims_the_first_step_at_the_asked_fraction() -> None:
    a = step_gain([4.0, 2.0, 0.0], first_step=0.05, A=9.0, alpha=0.602)
    assert Gains(a, 0.1, 9.0).a_k(0) * 3.0 == pytest.approx(0.05)  # the mean of the non-zero sizes
    assert Gains(step_gain([0.0], 0.05, 9.0, 0.602), 0.1, 9.0).a_k(0) == pytest.approx(0.05)


def test_calibration_counts_sets_c_from_the_noise_and_the_first_step_to_five_percent() -> None:
    result = run(lambda x: 3.0 * float(x[0]), [0.0], 40, second_order=False)  # linear, noise-free
    roles = [e.role for e in result.history]
    assert roles[:2] == ["start"] * 2 and roles[2:4] == ["theta+", "theta-"]  # two equal values: no noise
    assert len(result.history) == 39 and roles.count("check") == 1  # the 40th: the check again, not run
    assert result.settings["c"] == 0.005  # noise-free: the smallest perturbation
    plus, minus = pairs(result)[0]
    assert float(plus.x[0]) - float(minus.x[0]) == pytest.approx(2 * 0.005 * 10, abs=1e-12)
    moved = centres(result)[1] - centres(result)[0]
    assert moved[0] == pytest.approx(-0.05 * 10)  # the first step: 5% of the range, downhill
    assert result.settings["A"] == pytest.approx(0.1 * len(pairs(result)))


def test_noise_at_the_start_sets_a_larger_perturbation() -> None:
    rng = np.random.default_rng(3)
    result = run(lambda x: float(x[0]) + float(rng.normal(0.0, 0.04)), [0.0], 40)
    assert 0.01 < result.settings["c"] < 0.1
    result = run(lambda x: float(x[0]) + float(rng.normal(0.0, 10.0)), [0.0], 40)
    assert result.settings["c"] == 0.1


def test_perturbations_are_bernoulli_signs_on_every_param() -> None:
    result = run(lambda x: float(np.sum(x)), [0.0] * 6, 300, c=0.02)
    signs = np.array([np.sign(np.array(p.x) - np.array(m.x)) for p, m in pairs(result)])
    assert set(np.unique(signs)) == {-1.0, 1.0}
    assert abs(float(signs.mean())) < 0.1  # both signs about equally often
    spans = np.array([np.abs(np.array(p.x) - np.array(m.x)) for p, m in pairs(result)])
    assert np.allclose(spans[0], 2 * 0.02 * 10)  # every param perturbed by the same c at once


def test_each_step_is_capped_at_five_percent_of_the_range() -> None:
    # without 2SPSA's jitter, the centres of the pairs are the iterates
    result = run(lambda x: 1e6 * float(np.sum(x)), [0.0, 0.0], 60, a=10.0, c=0.01, second_order=False)
    steps = np.abs(np.diff(centres(result), axis=0))
    assert steps.max() == pytest.approx(0.05 * 10)  # the cap binds, and is never exceeded
    capped = run(lambda x: 1e6 * float(np.sum(x)), [0.0, 0.0], 60, a=10.0, c=0.01, second_order=False,
                 max_step=0.01)  # fmt: skip
    assert np.abs(np.diff(centres(capped), axis=0)).max() == pytest.approx(0.01 * 10)


def test_points_are_projected_onto_the_bounds() -> None:
    result = run(lambda x: -float(np.sum(x)), [4.0, -4.0], 200)  # pushes out of the box's upper side
    xs = np.array([e.x for e in result.history], dtype=float)
    assert xs.min() >= -5.0 and xs.max() <= 5.0
    assert result.x == (5.0, 5.0)


def test_a_seed_reproduces_the_run_and_another_seed_does_not() -> None:
    first = run(noisy_sphere(1), [-3.0, -3.0], 100, seed=7)
    again = run(noisy_sphere(1), [-3.0, -3.0], 100, seed=7)
    other = run(noisy_sphere(1), [-3.0, -3.0], 100, seed=8)
    assert first.history == again.history and first.x == again.x
    assert [e.x for e in first.history] != [e.x for e in other.history]


def test_the_noisy_sphere_converges_in_the_budget() -> None:
    result = run(noisy_sphere(5), [-3.0, -3.0, -3.0], 1000, seed=5)
    assert len(result.history) == 1000 and result.stopped == "budget"
    assert float(np.sum((np.array(result.x) - 1.0) ** 2)) < 0.01  # from 48


def test_the_answer_is_the_measured_final_iterate_not_the_best_reading() -> None:
    result = run(noisy_sphere(2), [-3.0, -3.0], 300, seed=2)
    checks = [e for e in result.history if e.role == "check"]
    assert checks and all(e.x == result.x for e in checks)
    assert result.value == pytest.approx(float(np.mean([e.value for e in checks])))
    best = min(e.value for e in result.history)
    assert result.value > best  # the lucky draw is not what is returned


def test_recheck_measures_three_candidates_and_keeps_the_best_mean() -> None:
    result = run(noisy_sphere(2), [-3.0, -3.0], 300, seed=2, final="recheck")
    checks = [e for e in result.history if e.role == "check"]
    assert len(checks) == 9
    means: dict[tuple[object, ...], list[float]] = {}
    for e in checks:
        means.setdefault(e.x, []).append(e.value)
    assert result.x in means and result.value == pytest.approx(min(np.mean(v) for v in means.values()))


def test_ftol_and_param_tol_stop_early() -> None:
    flat = run(lambda x: 1.0, [0.0, 0.0], 1000, param_tol=1e-3)
    assert flat.stopped == "param-tol" and len(flat.history) < 100
    flat = run(lambda x: 1.0, [0.0, 0.0], 1000, ftol=1e-6)
    assert flat.stopped == "ftol" and len(flat.history) < 100
    assert run(noisy_sphere(0), [-3.0, -3.0], 200, param_tol=1e-9).stopped == "budget"


def test_integer_and_log_params_keep_their_kind() -> None:
    box = make_box([(1, 50), (1e-3, 10.0)], 2, log=[False, True], integer=[True, False])
    target = (17, 0.2)

    def f(x: np.ndarray) -> float:
        return float((x[0] - target[0]) ** 2 / 100 + math.log(x[1] / target[1]) ** 2)

    steps = method_steps("spsa", box, [40, 5.0], 400, 0)
    result = drive(steps, lambda batch: [f(np.array(r.x, dtype=float)) for r in batch])
    assert all(isinstance(e.x[0], int) and 1 <= e.x[0] <= 50 for e in result.history)
    assert all(1e-3 <= float(e.x[1]) <= 10.0 for e in result.history)
    for plus, minus in pairs(result)[:5]:  # a log param is perturbed by a factor, both ways
        high, low = float(plus.x[1]), float(minus.x[1])
        assert high / math.sqrt(high * low) == pytest.approx(math.sqrt(high * low) / low)
        assert plus.x[0] != minus.x[0]  # an integer param is perturbed by at least one
    assert abs(float(result.x[0]) - 17) <= 3 and 0.1 < float(result.x[1]) < 0.4


def test_budget_too_small_and_bad_settings_are_refused() -> None:
    assert minimum_budget(SpsaSettings()) == 7  # 4 at the start (with noise), one pair, one check
    with pytest.raises(OptimizeError, match="budget of 6 evaluations is less than spsa needs: at least 7"):
        run(lambda x: 0.0, [0.0], 6)
    rng = np.random.default_rng(0)
    assert len(run(lambda x: float(rng.normal()), [0.0], 7).history) == 7
    with pytest.raises(OptimizeError, match="parallel must be at least 1"):
        run(lambda x: 0.0, [0.0], 50, gradient_samples=0)
    with pytest.raises(OptimizeError, match="final='best'"):
        run(lambda x: 0.0, [0.0], 50, final="best")


def test_bad_bounds_and_starts_are_refused_naming_the_param() -> None:
    with pytest.raises(OptimizeError, match=r"param 'x1': the start 7\.0 lies outside"):
        run(lambda x: 0.0, [0.0, 7.0], 50)
    with pytest.raises(OptimizeError, match=r"param 'rate': the lower bound 2\.0 must be below"):
        Dimension("rate", 2.0, 2.0)
    with pytest.raises(OptimizeError, match="log scale needs positive bounds"):
        Dimension("rate", 0.0, 2.0, log=True)
    with pytest.raises(OptimizeError, match="param 'k': is categorical"):
        method_steps("spsa", Box((Dimension("k", choices=("a", "b")),)), ["a"], 50, 0)


def test_several_gradient_samples_are_one_batch() -> None:
    batches: list[list[Request]] = []
    rng = np.random.default_rng(1)

    def evaluate(batch: Sequence[Request]) -> list[float]:
        batches.append(list(batch))
        return [float(np.sum(np.array(r.x, dtype=float) ** 2) + rng.normal(0.0, 0.1)) for r in batch]

    drive(method_steps("spsa", make_box((-5, 5), 3), [2.0] * 3, 60, 0, parallel=3), evaluate)
    assert [len(b) for b in batches[:4]] == [2, 2, 6, 6]  # the start twice, twice more (noise), 3 pairs
    assert {r.role for r in batches[2]} == {"theta+", "theta-"}


def test_the_curvature_is_the_least_squares_hessian_of_the_directional_differences() -> None:
    rng = np.random.default_rng(4)
    hessian = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, -2.0], [0.0, -2.0, 9.0]])
    curvature = Curvature(3)
    for _ in range(6):  # one equation per entry: exact
        delta, v = rng.choice([-1.0, 1.0], 3), rng.normal(size=3)
        curvature.add(float(delta @ hessian @ v), delta, v)
    assert curvature.hessian is not None and np.allclose(curvature.hessian, hessian, atol=1e-5)
    delta = np.array([1.0, -1.0, 1.0])
    assert curvature.shift(delta, np.ones(3)) == pytest.approx(float(delta @ hessian @ np.ones(3)))
    stretched = curvature.precondition(hessian @ np.array([1.0, 2.0, 3.0]))  # a Newton direction, rescaled
    assert np.allclose(
        stretched / np.linalg.norm(stretched), np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0), atol=1e-3
    )


def test_second_order_spsa_keeps_two_runs_per_iteration_and_beats_first_order_when_ill_conditioned() -> None:
    scales = np.array([1.0, 10.0, 100.0])

    def f(x: np.ndarray) -> float:
        return float(np.sum(scales * (x - 1.0) ** 2))

    first = run(f, [-3.0, 2.0, 4.0], 600, seed=1)
    second = run(f, [-3.0, 2.0, 4.0], 600, seed=1, second_order=True)
    per_iteration = {e.iteration for e in second.history if e.role.startswith("theta")}
    assert sum(e.role.startswith("theta") for e in second.history) == 2 * len(per_iteration)
    assert second.value < 0.1 * first.value


def test_final_average_answers_with_the_mean_of_the_last_half_of_the_iterates() -> None:
    # SPSA's iterate is the centre of each perturbed pair (away from the box's edges)
    result = run(noisy_sphere(3), [-1.0, -1.0], 200, seed=3, final="average", checks=4)
    centres = [np.mean([np.array(a.x), np.array(b.x)], axis=0) for a, b in pairs(result)]
    iterates = [np.array([-1.0, -1.0]), *centres[1:]]  # the centre of the first pair is the start
    final = run(noisy_sphere(3), [-1.0, -1.0], 200, seed=3, checks=4)
    assert np.allclose(result.x, np.mean(iterates[len(iterates) // 2 :], axis=0), atol=0.05)
    assert result.x != final.x and [e.role for e in result.history[-4:]] == ["check"] * 4
    with pytest.raises(OptimizeError, match="expected 'iterate', 'recheck' or 'average'"):
        SpsaSettings(final="mean").check()
