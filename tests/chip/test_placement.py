"""Placement: every core on its own site of the mesh, one chip exactly as the snake walk,
and on several chips the regions placement crosses fewer chip boundaries than the snake."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tnpipe.artifacts import describe_architecture
from tnpipe.chip.config import ChipCfg
from tnpipe.chip.coremap import UNUSED
from tnpipe.chip.mapper import map_network
from tnpipe.chip.placement import (
    PLACEMENTS,
    place,
    region_place,
    snake_place,
    topographic_positions,
)
from tnpipe.chip.search import choose_tilings
from tnpipe.chip.validate import validate_coremap
from tnpipe.corespec import CoreSpec
from tnpipe.errors import RecipeError
from tnpipe.netspec import parse_network
from tnpipe.recipe import load_recipe

NET = ("S-8 S-64(2) N-64(2) P-64(4) N-20", (3, 8, 8), 10)
SMALL_CHIP = CoreSpec(chip_width=4, chip_height=4)     # 16 cores per chip: the small net needs several


@pytest.fixture(scope="module")
def desc():
    return describe_architecture(parse_network(*NET))


# one filter group per core on 2x2, 2x2, 1x1, 1x1 tiles: every layer fills whole 16-core chips
TILES = [(2, 2), (2, 2), (1, 1), (1, 1)]


@pytest.fixture(scope="module")
def maps(desc):
    tilings = [dataclasses.replace(t, th=th, tw=tw, gpc=1, fsplit=1)
               for t, (th, tw) in zip(choose_tilings(desc.layers, SMALL_CHIP), TILES, strict=True)]
    return {name: map_network(desc, SMALL_CHIP, placement=name, tilings=tilings) for name in PLACEMENTS}


def crossing_connections(cm) -> int:
    """Core-to-core connections (each neuron's target counts 1) whose target is on another chip."""
    _, crossings = cm.route_cost()
    return int((crossings > 0).sum())


def line_of_two_layers(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A hand-built map on a 1 x n image: layer A (cores 0..n-1) reads pixel i into core i,
    and core i sends one spike to core n + i of layer B. (target_core, in_core, in_yx)"""
    target = np.full((2 * n, 256), UNUSED, dtype=np.int32)
    target[np.arange(n), 0] = n + np.arange(n)
    in_yx = np.stack([np.full(n, 0.5), (np.arange(n) + 0.5) / n], axis=1)
    return target, np.arange(n), in_yx


@pytest.mark.parametrize("name", PLACEMENTS)
def test_every_core_has_its_own_site_inside_the_mesh(maps, name):
    cm = maps[name]
    assert cm.chips == -(-cm.n_cores // SMALL_CHIP.cores_per_chip) > 1
    validate_coremap(cm)                                  # the placement rules, among the rest
    chip, x, y = (cm.arrays[k].astype(np.int64) for k in ("core_chip", "core_x", "core_y"))
    assert (0 <= chip).all() and (chip < cm.chips).all()
    assert (0 <= x).all() and (x < 4).all() and (0 <= y).all() and (y < 4).all()
    assert len(np.unique((chip * 4 + y) * 4 + x)) == cm.n_cores
    assert cm.info["placement"] == name


@pytest.mark.parametrize("n", range(1, 13))
def test_regions_fill_every_grid_the_chips_make(n):
    """1 to 6 chips of 4 cores: grids 1x1 to 3x2, short last rows included (5 chips: the odd
    row's 2 chips sit at its right end)."""
    target, in_core, in_yx = line_of_two_layers(n)
    chip, x, y, chips = region_place(target, in_core, in_yx, CoreSpec(chip_width=2, chip_height=2))
    assert chips == -(-2 * n // 4)
    load = np.bincount(chip, minlength=chips)
    assert len(load) == chips and load.min() >= 1 and load.max() <= 4   # every chip used, none overfull
    assert ((0 <= x) & (x < 2) & (0 <= y) & (y < 2)).all()
    assert len(np.unique((chip.astype(np.int64) * 2 + y) * 2 + x)) == 2 * n


def test_one_chip_regions_equal_the_snake(desc):
    regions, snake = map_network(desc, placement="regions"), map_network(desc, placement="snake")
    assert regions.chips == 1
    for k in ("core_chip", "core_x", "core_y"):
        assert np.array_equal(regions.arrays[k], snake.arrays[k]), k
    chip, x, y, _ = snake_place(regions.n_cores)
    assert np.array_equal(regions.arrays["core_x"], x) and np.array_equal(regions.arrays["core_y"], y)


def test_regions_keep_a_region_of_every_layer_on_one_chip():
    """4 + 4 cores on chips of 4: the snake puts layer A on chip 0 and layer B on chip 1, so
    all 4 connections cross; regions put pixels 0-1 of both layers on chip 0: none cross."""
    target, in_core, in_yx = line_of_two_layers(4)
    two_by_two = CoreSpec(chip_width=2, chip_height=2)
    chip, x, y, chips = region_place(target, in_core, in_yx, two_by_two)
    assert chips == 2 and chip.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    snake_chip = snake_place(8, two_by_two)[0]
    assert (snake_chip[:4] != snake_chip[4:]).sum() == 4 and (chip[:4] != chip[4:]).sum() == 0
    assert len({(int(c), int(a), int(b)) for c, a, b in zip(chip, x, y, strict=True)}) == 8


def test_topographic_position_is_the_mean_of_what_reaches_a_core():
    target, in_core, in_yx = line_of_two_layers(4)
    target[0, 1] = 5                                      # core 5 (layer B) also hears pixel 0's core
    pos = topographic_positions(target, in_core, in_yx)
    assert np.allclose(pos[:4, 1], [0.125, 0.375, 0.625, 0.875])
    assert np.isclose(pos[5, 1], (0.125 + 0.375) / 2) and np.isclose(pos[6, 1], 0.625)


def test_regions_cross_fewer_chips_than_the_snake(maps):
    """Every layer of NET fills whole 16-core chips (32, 32, 64, 16 cores), so under the snake
    every connection, layer to next layer, crosses; regions keep most on their chip."""
    connections = int((maps["snake"].arrays["target_core"] >= 0).sum())
    assert maps["snake"].cores_per_layer() == {"L1 S-64(2)": 32, "L2 N-64(2)": 32, "L3 P-64(4)": 64, "L4 N-20": 16}
    snake, regions = crossing_connections(maps["snake"]), crossing_connections(maps["regions"])
    assert snake == connections
    assert regions < 0.2 * connections
    hops_snake, hops_regions = (maps[k].route_cost()[0].sum() for k in ("snake", "regions"))
    assert hops_regions < hops_snake


def test_placement_is_deterministic(desc):
    one, again = (map_network(desc, SMALL_CHIP, placement="regions") for _ in range(2))
    assert one.chips > 1
    for k in ("core_chip", "core_x", "core_y"):
        assert np.array_equal(again.arrays[k], one.arrays[k]), k


def test_bad_placement_is_one_line_naming_the_value_and_the_valid_ones(desc, tmp_path):
    want = "chip placement 'spiral' is unknown; valid placements: snake, regions"
    for call in (lambda: map_network(desc, placement="spiral"), lambda: ChipCfg(placement="spiral"),
                 lambda: place("spiral", np.zeros((1, 256), dtype=np.int32), np.zeros(0), np.zeros((0, 2)))):
        with pytest.raises(RecipeError, match=want) as e:
            call()
        assert "\n" not in str(e.value)
    recipe = tmp_path / "r.toml"
    recipe.write_text('[data]\nname = "cifar10"\n[chip]\nplacement = "spiral"\n')
    with pytest.raises(RecipeError) as e:
        load_recipe(recipe)
    assert str(e.value) == f"{recipe} [chip]: {want}"     # the recipe file and section, then the rule
