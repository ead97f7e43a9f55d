"""Pictures: routes drawn over the nodes."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from nco.envs.instance import Instance  # noqa: E402
from nco.envs.route import Route  # noqa: E402
from nco.io import read_solution  # noqa: E402
from nco.outputs import write_atomically  # noqa: E402


TIGHT_WINDOW = 0.25
"""A customer's window is drawn as tight below this share of the depot's day."""


def draw_routes(axis, instance: Instance, routes: list[list[int]], title: str, legend: bool = False) -> None:
    """Draws ``routes`` of ``instance`` on ``axis``: linehaul customers as dots, backhaul customers
    as triangles, customers with a tight time window ringed, depots as red squares; with vehicle
    types, each route in its type's colour."""
    coords, k = instance.coords, instance.num_depots
    customers = coords[k:]
    backhaul = instance.demand_backhaul[k:] > 0
    types = instance.vehicle_types
    vehicle_types = [] if types is None else instance.vehicles.tolist()
    drawn_types = set()
    for number, route in enumerate(routes):
        if not route:  # a vehicle left unused
            continue
        path = Route.from_list(route, k).path(instance.open_route)
        colour, label = plt.get_cmap("tab20")(number % 20), None
        if number < len(vehicle_types):
            kind = vehicle_types[number]
            colour = plt.get_cmap("tab10")(kind % 10)
            if kind not in drawn_types:
                label = f"vehicle type {kind} (capacity {types.capacity[kind]:g})"
                drawn_types.add(kind)
        axis.plot(coords[path, 0], coords[path, 1], lw=1, color=colour, zorder=2, label=label)
    if (~backhaul).any():
        axis.scatter(*customers[~backhaul].T, s=8, c="0.3", zorder=3, label="linehaul customer")
    if backhaul.any():
        axis.scatter(*customers[backhaul].T, s=16, c="tab:blue", marker="^", zorder=3, label="backhaul customer")
    windows = instance.time_windows  # [0, inf] where a variant has none: nothing is tight
    day = windows[:k, 1].max() - windows[:k, 0].min()
    tight = (windows[k:, 1] - windows[k:, 0]) < TIGHT_WINDOW * day
    if tight.any():
        axis.scatter(*customers[tight].T, s=40, facecolors="none", edgecolors="tab:orange", lw=0.8, zorder=3,
                     label=f"window < {TIGHT_WINDOW:.0%} of the day")
    axis.scatter(coords[:k, 0], coords[:k, 1], s=60, c="red", marker="s", zorder=4, label="depot")
    if legend:
        axis.legend(fontsize=7, loc="best", framealpha=0.8)
    axis.set_title(title, fontsize=9)
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])


def route_figure(instance: Instance, routes: list[list[int]], title: str) -> Figure:
    """A figure of ``routes`` with a legend (outside pyplot's state: nothing to close)."""
    figure = Figure(figsize=(6, 6))
    draw_routes(figure.add_subplot(), instance, routes, title, legend=True)
    figure.tight_layout()
    return figure


def _series(stats: dict) -> dict[tuple[str, str], list[tuple[str, float, float]]]:
    series: dict = {}
    for (variant, solver, setting), (gap, seconds) in stats.items():
        series.setdefault((solver, setting), []).append((variant, gap, seconds))
    return series


def plot_pareto(stats: dict, path: str | Path) -> None:
    """Mean gap to the best solution against mean time per instance (log axis), one point per
    solver and setting over all variants."""
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    for (solver, setting), values in sorted(_series(stats).items()):
        gaps = [v[1] for v in values if not np.isnan(v[1])]
        if not gaps:  # solved nothing: no point to draw
            continue
        gap, seconds = np.mean(gaps), np.mean([v[2] for v in values])
        axis.scatter(seconds, gap, s=50)
        axis.annotate(f"{solver} {setting}", (seconds, gap), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axis.set_xscale("log")
    axis.set_xlabel("mean time per instance (s, log scale)")
    axis.set_ylabel("mean gap to the best solution found (%)")
    axis.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    write_atomically(path, lambda partial: figure.savefig(partial, dpi=120))
    plt.close(figure)


def plot_gap_bars(stats: dict, path: str | Path) -> None:
    """Per-variant mean gap, one bar per solver and setting."""
    series = _series(stats)
    variants = sorted({variant for variant, _, _ in stats})
    width = 0.8 / max(1, len(series))
    figure, axis = plt.subplots(figsize=(max(6, 0.7 * len(variants) * max(1, len(series)) / 2), 4.5))
    for number, ((solver, setting), values) in enumerate(sorted(series.items())):
        gaps = dict((v, g) for v, g, _ in values)
        axis.bar(np.arange(len(variants)) + number * width, [gaps.get(v, np.nan) for v in variants],
                 width, label=f"{solver} {setting}")
    axis.set_xticks(np.arange(len(variants)) + 0.4 - width / 2, variants, rotation=60, fontsize=8)
    axis.set_ylabel("mean gap to the best solution found (%)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    write_atomically(path, lambda partial: figure.savefig(partial, dpi=120))
    plt.close(figure)


def plot_route_grid(rows: list[dict], instances: list[Instance], solutions: Path, path: str | Path) -> None:
    """For the first instance of every variant: its routes under every solver and setting."""
    by_name = {instance.name: instance for instance in instances}
    first: dict[str, str] = {}
    for r in rows:
        if r["instance"] in by_name:
            first.setdefault(r["variant"], r["instance"])
    settings = sorted({(r["solver"], r["setting"]) for r in rows})
    if not first or not settings:
        return
    figure, axes = plt.subplots(len(first), len(settings), figsize=(2.6 * len(settings), 2.6 * len(first)),
                                squeeze=False)
    for row, (variant, name) in enumerate(sorted(first.items())):
        for column, (solver, setting) in enumerate(settings):
            axis = axes[row][column]
            solution = solutions / f"{solver}-{setting}" / f"{name}.sol"
            if solution.is_file():
                routes, cost = read_solution(solution)
                draw_routes(axis, by_name[name], routes, f"{variant} {solver} {setting}\n{cost:.3f}")
            else:
                axis.set_title(f"{variant} {solver} {setting}\nno solution", fontsize=8)
                axis.axis("off")
    figure.tight_layout()
    write_atomically(path, lambda partial: figure.savefig(partial, dpi=90))
    plt.close(figure)
