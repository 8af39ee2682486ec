"""Writes bench/RESULTS.md from one full run."""

from __future__ import annotations

import shlex
from pathlib import Path

from . import BENCHMARKS
from .common import BenchResult


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render(results: list[BenchResult], facts: dict[str, str], total: float, argv: list[str]) -> str:
    order = {name: index + 1 for index, (name, _, _) in enumerate(BENCHMARKS)}
    command = "python -m bench" + "".join(f" {shlex.quote(a)}" for a in argv[1:])
    lines = [
        "# nb_cognito benchmark results",
        "",
        f"Written by `{command}` (full mode) in {total:.0f} s. Regenerate rather than edit: every",
        "figure, verdict and written reason below comes from the run. Each figure is a ratio or",
        "count against a baseline measured in the same run (interleaved rounds, medians).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {_cell(key)} | {_cell(value)} |" for key, value in facts.items()],
        "",
        "## Targets",
        "",
        "| # | benchmark | figure | value | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        if result.error:
            lines.append(
                f"| {order.get(result.name, '?')} | {result.name} | (did not run) | "
                f"{_cell(result.error)} | | ERROR |"
            )
        for figure in result.figures:
            if figure.target is not None:
                lines.append(
                    f"| {order.get(result.name, '?')} | {result.name} | {_cell(figure.label)} | "
                    f"{_cell(figure.value)} | {_cell(figure.target)} | **{figure.verdict}** |"
                )
    misses = [(result, figure) for result in results for figure in result.figures if figure.passed is False]
    lines += ["", "## Misses: why, and the plan", ""]
    if not misses:
        lines.append("None.")
    for result, figure in misses:
        lines += [
            f"### {order.get(result.name, '?')}. {result.name}: {figure.label}",
            "",
            f"Measured **{figure.value}**, target {figure.target}.",
            "",
            figure.reason or "No reason was recorded for this miss; investigate before trusting it.",
            "",
        ]
    lines += ["## All figures", ""]
    for result in results:
        lines += [f"### {order.get(result.name, '?')}. {result.name}: {result.title}", ""]
        if result.error:
            lines += [f"Did not run: `{result.error}`", ""]
        lines += ["| figure | value | target | result |", "|---|---|---|---|"]
        for figure in result.figures:
            lines.append(
                f"| {_cell(figure.label)} | {_cell(figure.value)} | {_cell(figure.target or '')} | "
                f"{figure.verdict if figure.target is not None else ''} |"
            )
        lines.append("")
        lines += [f"- {note}" for note in result.notes]
        lines += [f"- Took {result.seconds:.1f} s.", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_results(
    path: Path, results: list[BenchResult], facts: dict[str, str], total: float, argv: list[str]
) -> None:
    path.write_text(render(results, facts, total, argv), encoding="utf-8")
