import numpy as np
from matplotlib.image import imread

from nco.envs.generator import generate
from nco.plots import plot_gap_bars, plot_pareto, plot_route_grid, route_figure


def legend_of(figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_routes_are_drawn_with_what_each_marker_means():
    instance = generate(1, 8, ["MDVRPBTW"], seed=4).instance(0)
    k = instance.num_depots
    routes = [[0, j] for j in range(k, instance.num_locations)]
    figure = route_figure(instance, routes, "title")
    axis = figure.axes[0]
    assert len(axis.get_lines()) == len(routes) and axis.get_title() == "title"
    labels = legend_of(figure)
    assert {"linehaul customer", "backhaul customer", "depot"} <= set(labels)


def test_the_comparison_plots_are_written(tmp_path):
    stats = {("CVRP", "pyvrp", "1s"): (1.0, 1.0), ("CVRP", "neural", "greedy"): (3.0, 0.1),
             ("VRPTW", "pyvrp", "1s"): (0.5, 1.0), ("VRPTW", "neural", "greedy"): (np.nan, 0.1)}
    plot_pareto(stats, tmp_path / "pareto.png")
    plot_gap_bars(stats, tmp_path / "bars.png")
    for name in ("pareto.png", "bars.png"):
        assert imread(tmp_path / name).shape[2] in (3, 4)


def test_the_route_grid_says_where_a_solver_found_nothing(tmp_path):
    instance = generate(1, 5, ["CVRP"], seed=5).instance(0).replace(name="one")
    folder = tmp_path / "solutions" / "pyvrp-1s"
    folder.mkdir(parents=True)
    (folder / "one.sol").write_text("Route #1: 1 2 3 4 5\nCost: 2.5\n")
    rows = [{"instance": "one", "variant": "CVRP", "solver": "pyvrp", "setting": "1s"},
            {"instance": "one", "variant": "CVRP", "solver": "ortools", "setting": "1s"}]
    plot_route_grid(rows, [instance], tmp_path / "solutions", tmp_path / "grid.png")
    assert (tmp_path / "grid.png").is_file()
