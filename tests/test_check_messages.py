"""What ``nnhw check`` tells a student about a failed public check: what the assert compared
("got / expected"; only the self-check evaluates it again), and which earlier cell's failure
left a name undefined (an error to fix, not a part "not done yet")."""
from __future__ import annotations

from autograder import check, load
from autograder.run.executor import Executor
from conftest import COURSE, FIXTURES, patched_submission, reference_module

STUDENT = "def square(x):\n    return x * x + 1  # off by one\n"


def failure(check_source: str, explain: bool = True) -> dict:
    """The problem a check cell raises after the student's cell defined ``square``."""
    units = [{"label": "cell answer", "source": STUDENT}, {"label": "cell check", "source": check_source}]
    problems = Executor().load(units, explain_asserts=explain)
    assert [p["label"] for p in problems] == ["cell check"], problems
    return problems[0]


def test_a_comparison_shows_got_and_expected_with_the_expression():
    explanation = failure("assert square(3) == 9, 'x²'")["explanation"]
    assert explanation.splitlines() == ["得到 / got: 10    ← square(3)", "期望 / expected: 9"]


def test_the_first_false_operand_of_and_is_the_one_explained():
    explanation = failure("import numpy as np\n"
                          "assert square(0) == 1 and np.isclose(square(2.0), 4.0 + 0.0)")["explanation"]
    assert explanation.splitlines() == ["得到 / got: 5.0    ← square(2.0)",
                                        "期望 / expected: 4.0    ← 4.0 + 0.0"]


def test_a_multiline_assert_in_a_loop_is_evaluated_where_it_failed():
    source = ("for x, want in ((1, 2), (2, 4)):\n"
              "    assert (square(x)\n"
              "            == want), x\n")
    problem = failure(source)
    assert problem["message"] == "2"
    assert problem["explanation"].splitlines() == ["得到 / got: 5    ← square(x)",
                                                   "期望 / expected: 4    ← want"]


def test_arrays_and_numpy_scalars_read_plainly_and_long_ones_are_cut():
    explanation = failure("import numpy as np\n"
                          "assert np.allclose(np.arange(3.0), [0, 1, 3])\n")["explanation"]
    assert explanation.splitlines() == ["得到 / got: array([0., 1., 2.], shape=(3,))    ← np.arange(3.0)",
                                        "期望 / expected: [0, 1, 3]"]
    explanation = failure("import numpy as np\nassert (np.float64(1.5), list(range(100))) is None\n")[
        "explanation"]
    got = explanation.splitlines()[0].split("    ← ")[0]
    assert got.startswith("得到 / got: (1.5, [0, 1, 2,") and got.endswith("19, …])"), got


def test_an_inequality_shows_only_what_is_not_literal():
    explanation = failure("assert square(1) <= 1")["explanation"]
    assert explanation.splitlines() == ["值 / value: 2    ← square(1)"]


def test_a_type_check_shows_the_type_it_got():
    explanation = failure("assert isinstance(square(2.0), (int, bool))")["explanation"]
    assert explanation.splitlines() == ["得到 / got: 5.0    ← square(2.0)", "类型 / type: float",
                                        "期望类型 / expected type: (int, bool)"]


def test_other_calls_show_their_arguments_but_not_a_generator():
    explanation = failure("import math\nassert math.isfinite(square(1e308))")["explanation"]
    assert explanation.splitlines() == ["值 / value: inf    ← square(1e308)"]
    assert failure("assert all(square(x) < 3 for x in range(3))")["explanation"] == ""


def test_an_explanation_that_cannot_be_computed_is_left_out():
    problem = failure("calls = []\n"
                      "def once():\n"
                      "    calls.append(1)\n"
                      "    if len(calls) > 1:\n"
                      "        raise SystemExit('second call')\n"
                      "    return 0\n"
                      "assert once() == 1\n")
    assert problem["type"] == "AssertionError" and problem["explanation"] == ""


def test_grading_never_evaluates_twice():
    problem = failure("assert square(3) == 9", explain=False)
    assert problem["type"] == "AssertionError" and "explanation" not in problem


def test_nnhw_check_shows_what_a_mean_instead_of_a_sum_gives(tmp_path):
    wrong = (FIXTURES / "wrong" / "hw2_logistic" / "mean_not_sum.py").read_text(encoding="utf-8")
    submission = patched_submission(tmp_path / "student", "hw2_logistic", wrong)
    results = {r.part: r for r in check.check(COURSE, submission).results}
    detail = results["logistic_loss_values"].detail
    assert results["logistic_loss_values"].status == "wrong"
    assert "得到 / got: 0.6931471805599453    ← logistic_loss(np.zeros(3), X_DEMO, Y_DEMO)" in detail
    assert "期望 / expected: 5.545177444479562    ← 8 * np.log(2)" in detail
    assert "求和，不是平均 / a sum, not a mean" in detail


def test_an_earlier_failure_is_named_as_the_cause_not_as_not_done(tmp_path):
    module = tmp_path / "student" / "hw2_logistic.py"
    module.parent.mkdir()
    reference = reference_module("hw2_logistic")
    cut = reference.index("def logistic_loss")
    module.write_text(reference[:cut] + 'DATA = np.load("my_data.npz")\n\n' + reference[cut:])
    results = {r.part: r for r in check.check(COURSE, load.Submission("student", "hw2_logistic", module)).results}
    for part in ("logistic_loss_values", "logistic_loss_stable"):
        assert results[part].status == "error", results[part]
        assert "because an earlier cell failed" in results[part].detail
        assert "FileNotFoundError" in results[part].detail
    assert results["sigmoid_values"].status == "passed"


def test_a_notebook_alone_still_finds_its_data(tmp_path):
    submission = patched_submission(tmp_path / "student", "hw5_mlp", "")  # no data/ above it
    results = {r.part: r for r in check.check(COURSE, submission).results}
    assert results["digits_accuracy"].status == results["digits_deterministic"].status == "passed"


def test_a_syntax_error_is_the_cause_and_a_missing_function_is_not_done(tmp_path):
    module = tmp_path / "student" / "hw2_logistic.py"
    module.parent.mkdir()
    module.write_text("import numpy as np\ndef sigmoid(z):\n    return (1 / (1 + np.exp(-z))\n")
    results = {r.part: r for r in check.check(COURSE, load.Submission("student", "hw2_logistic", module)).results}
    for part in ("sigmoid_values", "sigmoid_stable"):  # the module that failed defines sigmoid
        assert results[part].status == "error" and "SyntaxError" in results[part].detail, results[part]
    assert results["logistic_loss_values"].status == "not done"  # it never mentions logistic_loss
    reference = reference_module("hw2_logistic")
    module.write_text(reference[:reference.index("def descent_check")])
    results = {r.part: r for r in check.check(COURSE, load.Submission("student", "hw2_logistic", module)).results}
    assert results["descent_check"].status == "not done", results["descent_check"]
    assert results["sigmoid_values"].status == "passed"
