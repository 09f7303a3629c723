"""Mutation testing of the hidden tests: do they catch every wrong answer, and only wrong ones?

Single-point mutants of the reference answers (the solution regions of the source notebooks):
an arithmetic or comparison operator swapped, a constant moved by one, a sign dropped, a numpy
reduction or an axis swapped, an index moved, a boolean flipped, a statement removed.  Each
mutant is

  * labelled by differential testing against the reference (``mutation_oracle``: inputs of its
    own over the contract's domain, never the hidden tests' strategies), in a child process with
    a time limit: "breaks the contract" with the first difference, or "equivalent" when none is
    found;
  * graded by ``nnhw``'s hidden tests through the real sandbox.

A contract-breaking mutant every hidden test passes is a survivor (the tests miss a wrong answer);
an equivalent mutant that loses points is penalised (the tests refuse a right answer).  Both
counts must be 0.

    python benchmarks/mutation.py                 # every homework, both cores
    python benchmarks/mutation.py --homework hw1_likelihood --limit 40
"""
from __future__ import annotations

import argparse
import ast
import concurrent.futures
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from autograder import load, score  # noqa: E402
from autograder.course import HOMEWORKS, Course  # noqa: E402
from autograder.run.sandbox import strong_isolation  # noqa: E402

COURSE = Course.at(HERE.parent)
MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$", re.MULTILINE)
SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
         ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv,
         ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
         ast.And: ast.Or, ast.Or: ast.And}
FUNCTIONS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max", "exp": "expm1", "log": "log1p",
             "log1p": "log", "abs": "negative", "argmax": "argmin", "zeros": "ones", "ones": "zeros",
             "logaddexp": "maximum", "diff": "cumsum", "sqrt": "abs", "lgamma": "gamma"}


def answer_cells(homework: str) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """(grade id, source with the markers blanked, solution line ranges) of each answer cell."""
    cells = []
    for _, cell, kind in load.code_cells(load.source_notebook(COURSE, homework)):
        if kind != "answer":
            continue
        text = load.source_text(cell)
        ranges, start = [], None
        for number, line in enumerate(text.splitlines(), start=1):
            if MARKER.match(line):
                if "BEGIN" in line:
                    start = number
                else:
                    ranges.append((start, number))
        cells.append((load.nbgrader_metadata(cell)["grade_id"], MARKER.sub("", text), ranges))
    return cells


def mutation_points(tree: ast.AST, ranges) -> list[tuple[int, str]]:
    """(index of the node in ``ast.walk`` order, operator) of every place a mutant can differ."""
    inside = lambda node: any(a < getattr(node, "lineno", -1) < b for a, b in ranges)  # noqa: E731
    points = []
    for index, node in enumerate(ast.walk(tree)):
        if not inside(node):
            continue
        if isinstance(node, (ast.BinOp, ast.BoolOp)) and type(node.op) in SWAPS:
            points.append((index, "operator"))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in SWAPS:
            points.append((index, "comparison"))
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and not isinstance(node.value, bool):
            points += [(index, "plus one"), (index, "minus one")] if isinstance(node.value, int) else \
                [(index, "doubled"), (index, "zero")]
        elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
            points.append((index, "not"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            points.append((index, "no minus"))
        elif isinstance(node, ast.Attribute) and node.attr in FUNCTIONS:
            points.append((index, "function"))
        elif isinstance(node, ast.keyword) and node.arg == "axis":
            points.append((index, "axis"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)) and not isinstance(node, ast.Expr):
            points.append((index, "removed"))
    return points


def mutate(tree: ast.AST, index: int, operator: str) -> tuple[ast.AST, str]:
    tree = copy.deepcopy(tree)
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    node = list(ast.walk(tree))[index]
    line = getattr(node, "lineno", 0)
    if operator == "operator":
        before = type(node.op).__name__
        node.op = SWAPS[type(node.op)]()
        return tree, f"line {line}: {before} → {type(node.op).__name__}"
    if operator == "comparison":
        before = type(node.ops[0]).__name__
        node.ops[0] = SWAPS[type(node.ops[0])]()
        return tree, f"line {line}: {before} → {type(node.ops[0]).__name__}"
    if operator in ("plus one", "minus one", "doubled", "zero"):
        before = node.value
        node.value = {"plus one": before + 1, "minus one": before - 1, "doubled": before * 2,
                      "zero": 0.0 if before else 1.0}[operator]
        return tree, f"line {line}: {before!r} → {node.value!r}"
    if operator == "not":
        node.value = not node.value
        return tree, f"line {line}: {not node.value} → {node.value}"
    if operator == "no minus":
        parent = parents[node]
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, node.operand)
            elif isinstance(value, list):
                value[:] = [node.operand if item is node else item for item in value]
        return tree, f"line {line}: -x → x"
    if operator == "function":
        before, node.attr = node.attr, FUNCTIONS[node.attr]
        return tree, f"line {line}: {before} → {node.attr}"
    if operator == "axis":
        before = ast.unparse(node.value)
        node.value = ast.Constant(1 if before == "0" else 0)
        return tree, f"line {line}: axis={before} → axis={node.value.value}"
    parent = parents[node]
    for field, value in ast.iter_fields(parent):
        if isinstance(value, list) and node in value:
            value[value.index(node)] = ast.Pass()
    return tree, f"line {line}: `{ast.unparse(node)[:50]}` removed"


def mutants(homework: str):
    """(grade id, what changed, the answer cells as one module) of every mutant of ``homework``."""
    cells = answer_cells(homework)
    for position, (grade_id, source, ranges) in enumerate(cells):
        tree = ast.parse(source)
        for index, operator in mutation_points(tree, ranges):
            mutated, change = mutate(tree, index, operator)
            try:
                text = ast.unparse(ast.fix_missing_locations(mutated))
                compile(text, grade_id, "exec")
            except (SyntaxError, ValueError, TypeError):
                continue
            units = [s if i != position else text for i, (_, s, _) in enumerate(cells)]
            yield grade_id, change, "\n\n".join(units) + "\n"


ORACLE = r"""
import json, sys, types
sys.path[:0] = [{root!r}, {here!r}]
import numpy as np
from autograder import load
from autograder.course import Course
from autograder.reference import reference
from mutation_oracle import differences
course = Course.at({root!r})
homework, module = sys.argv[1], open(sys.argv[2], encoding="utf-8").read()
namespace = {{"__name__": "mutant"}}
for unit in load.setup_units(course, homework):
    exec(compile(unit["source"], unit["label"], "exec"), namespace)
exec(compile(module, "mutant", "exec"), namespace)
data = None
if homework == "hw5_mlp":
    with np.load(course.data / "digits.npz") as loaded:
        data = dict(loaded)
print(json.dumps(differences(homework, types.SimpleNamespace(**namespace), reference(course, homework), data)))
"""


def judge(homework: str, grade_id: str, change: str, module: str, isolation) -> dict:
    """One mutant: the oracle's label and the hidden tests' verdict."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mutant" / f"{homework}.py"
        path.parent.mkdir()
        path.write_text(module, encoding="utf-8")
        try:
            completed = subprocess.run(
                [sys.executable, "-c", ORACLE.format(root=str(COURSE.root), here=str(HERE)), homework, str(path)],
                capture_output=True, text=True, timeout=180, cwd=folder,
                env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
            difference = json.loads(completed.stdout.strip().splitlines()[-1]) if completed.returncode == 0 \
                else f"crashed: {completed.stderr.strip().splitlines()[-1][:80] if completed.stderr.strip() else ''}"
        except subprocess.TimeoutExpired:
            difference = "hangs"
        result = score.grade_submission(COURSE, load.Submission("mutant", homework, path), isolation)
    lost = sorted(t.name for t in result.tests if t.status not in ("passed", "manual"))
    return {"homework": homework, "cell": grade_id, "change": change, "difference": difference, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homework", action="append", choices=HOMEWORKS)
    parser.add_argument("--limit", type=int, default=0, help="at most this many mutants per homework")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default="mutation-results.json")
    args = parser.parse_args()
    isolation = strong_isolation()
    jobs = []
    for homework in args.homework or HOMEWORKS:
        found = [(homework, *mutant) for mutant in mutants(homework)]
        jobs += found[:args.limit] if args.limit else found
    print(f"{len(jobs)} mutants", flush=True)
    start, results = time.time(), []
    with concurrent.futures.ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(judge, *job, isolation) for job in jobs]
        for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
            results.append(future.result())
            if done % 25 == 0:
                print(f"  {done}/{len(futures)} judged", flush=True)
    report(sorted(results, key=lambda r: (r["homework"], r["cell"], r["change"])), time.time() - start)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def report(results: list[dict], seconds: float) -> None:
    survivors = [r for r in results if r["difference"] and not r["lost"]]
    penalised = [r for r in results if not r["difference"] and r["lost"]]
    breaking = [r for r in results if r["difference"]]
    print(f"\n{len(results)} mutants in {seconds:.0f} s: {len(breaking)} break the contract "
          f"({len(breaking) - len(survivors)} caught), {len(results) - len(breaking)} equivalent")
    for homework in HOMEWORKS:
        mine = [r for r in results if r["homework"] == homework]
        if mine:
            caught = sum(1 for r in mine if r["difference"] and r["lost"])
            broken = sum(1 for r in mine if r["difference"])
            print(f"  {homework:<15} {len(mine):>4} mutants, {broken:>4} contract-breaking, {caught:>4} caught")
    print(f"contract-breaking survivors: {len(survivors)}")
    for r in survivors:
        print(f"  {r['homework']} {r['cell']} {r['change']}: {r['difference']}")
    print(f"equivalent mutants penalised: {len(penalised)}")
    for r in penalised:
        print(f"  {r['homework']} {r['cell']} {r['change']}: lost {', '.join(r['lost'])}")


if __name__ == "__main__":
    main()
