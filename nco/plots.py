"""Pictures: routes drawn over the nodes."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from envs.instance import Instance  # noqa: E402


def draw_routes(axis, instance: Instance, routes: list[list[int]], title: str) -> None:
    """Draws ``routes`` of ``instance`` on ``axis``: customers as dots, depots as red squares."""
    coords, k = instance.coords, instance.num_depots
    axis.scatter(coords[k:, 0], coords[k:, 1], s=8, c="0.3", zorder=3)
    colours = plt.get_cmap("tab20")
    for number, route in enumerate(routes):
        depot, stops = (route[0], route[1:]) if k > 1 else (0, route)
        path = [depot, *stops] + ([] if instance.open_route else [depot])
        axis.plot(coords[path, 0], coords[path, 1], lw=1, color=colours(number % 20), zorder=2)
    axis.scatter(coords[:k, 0], coords[:k, 1], s=60, c="red", marker="s", zorder=4, label="depot")
    axis.set_title(title, fontsize=9)
    axis.set_aspect("equal")
    axis.set_xticks([])
    axis.set_yticks([])


def plot_routes(instance: Instance, routes: list[list[int]], title: str, path: str | Path) -> None:
    figure, axis = plt.subplots(figsize=(6, 6))
    draw_routes(axis, instance, routes, title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
