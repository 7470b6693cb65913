"""Named training recipes: selection, cache keys, distillation (tiny models, random images)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload import training as T
from jointbench.patchoffload.models import parse_recipes


def _tiny_splits(n: int = 48) -> ImageSplits:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.int64)
    return ImageSplits("cifar10", tuple("abcdefghij"), x, y, x[:16], y[:16], x[:16], y[:16])


def test_default_and_named_recipes_are_selectable():
    assert T.recipe_name_for("server_vit", "cifar10") == T.DEFAULT_RECIPES["server_vit"]
    assert T.recipe_name_for("server_vit", "cifar10", "hybrid-10ep") == "hybrid-10ep"
    # Fashion-MNIST keeps its first recipes (their cached weights stay valid).
    assert T.recipe_name_for("server_vit", "fashion-mnist") == "hybrid-10ep"
    assert T.recipe_for("server_vit", "fashion-mnist").arch["patch"] == 7
    with pytest.raises(ValueError, match="Available"):
        T.recipe_name_for("server_vit", "cifar10", "no-such-recipe")
    with pytest.raises(ValueError, match="Unknown model role"):
        T.recipe_name_for("server", "cifar10")


def test_parse_recipes_checks_role_and_name():
    assert parse_recipes(["server_vit=hybrid-10ep"]) == {"server_vit": "hybrid-10ep"}
    assert parse_recipes(None) == {}
    for bad in ("server_vit", "server=hybrid-10ep", "server_vit=nope"):
        with pytest.raises(ValueError, match="--recipe"):
            parse_recipes([bad])


def test_cache_key_leaves_out_unused_later_fields_only():
    plain = T.RECIPES["server_vit"]["hybrid-10ep"]
    key = T.recipe_key(plain)
    assert "teacher" not in key and "kd" not in key            # keys of pre-distillation weights unchanged
    assert key == {k: v for k, v in dataclasses.asdict(plain).items() if k not in ("teacher", "kd", "kd_temperature", "guided")}
    distilled = T.recipe_key(T.RECIPES["server_vit"]["hybrid-small-kd"])
    assert distilled["teacher"] and distilled["kd"] == 0.5       # control: a recipe that distils is keyed by it
    splits = _tiny_splits()
    a = T._paths("server_vit", splits, 0, plain)[0]
    teacher = {"width": 4, "epochs": 1, "lr": 1e-3}
    b = T._paths("server_vit", splits, 0, dataclasses.replace(plain, kd=0.5, teacher=teacher))[0]
    assert a != b


def test_distillation_trains_a_teacher_and_changes_the_student(monkeypatch):
    splits = _tiny_splits()
    arch = {"patch": 8, "embed": "cnn", "embed_ch": 4, "dim": 16, "depth": 1, "heads": 2, "mlp": 32}
    base = T.Recipe(arch=arch, epochs=1, lr=3e-3, batch=16, min_keep=0.5)
    monkeypatch.setitem(T.RECIPES["server_vit"], "tiny", base)
    teacher = {"width": 4, "epochs": 1, "lr": 3e-3}
    monkeypatch.setitem(T.RECIPES["server_vit"], "tiny-kd", dataclasses.replace(base, teacher=teacher, kd=1.0))
    # Control: the same teacher trained (same random stream) but the distillation term weighted 0.
    monkeypatch.setitem(T.RECIPES["server_vit"], "tiny-kd0", dataclasses.replace(base, teacher=teacher, kd=0.0))
    torch.set_num_threads(1)
    plain = T.train_model("server_vit", splits, seed=0, recipe_name="tiny")
    kd = T.train_model("server_vit", splits, seed=0, recipe_name="tiny-kd")
    kd0 = T.train_model("server_vit", splits, seed=0, recipe_name="tiny-kd0")
    assert "teacher_accuracy_test" in kd.info and "teacher_accuracy_test" not in plain.info
    assert kd.info["recipe_name"] == "tiny-kd" and kd.info["recipe"]["kd"] == 1.0
    x = T.to_tensor(splits.x_test)
    with torch.no_grad():
        assert not torch.allclose(kd0.model(x), kd.model(x))     # only the distillation term differs
    again = T.train_model("server_vit", splits, seed=0, recipe_name="tiny-kd")
    with torch.no_grad():
        assert torch.allclose(kd.model(x), again.model(x))       # seeded: same recipe, same weights


def test_teacher_spec_without_epochs_names_the_missing_key(monkeypatch):
    arch = {"patch": 8, "embed": "linear", "dim": 16, "depth": 1, "heads": 2, "mlp": 32}
    monkeypatch.setitem(T.RECIPES["server_vit"], "broken",
                        T.Recipe(arch=arch, epochs=1, lr=1e-3, teacher={"width": 4, "lr": 1e-3}, kd=0.5))
    with pytest.raises(ValueError, match="'epochs'"):
        T.train_model("server_vit", _tiny_splits(), recipe_name="broken")


def test_cached_weights_report_the_current_recipe_name(monkeypatch, tmp_path):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    arch = {"patch": 8, "embed": "linear", "dim": 8, "depth": 1, "heads": 2, "mlp": 8}
    recipe = T.Recipe(arch=arch, epochs=1, lr=1e-3, batch=16)
    monkeypatch.setitem(T.RECIPES["edge_vit"], "old-name", recipe)
    splits = _tiny_splits()
    torch.set_num_threads(1)
    first = T.load_or_train("edge_vit", splits, recipe_name="old-name")
    assert first.info["recipe_name"] == "old-name"
    monkeypatch.setitem(T.RECIPES["edge_vit"], "new-name", recipe)        # same content, renamed
    again = T.load_or_train("edge_vit", splits, recipe_name="new-name")
    assert again.info["recipe_name"] == "new-name"
    assert again.info["train_seconds"] == first.info["train_seconds"]      # read back, not retrained
    other = T.load_or_train("edge_vit", splits, recipe_name="old-name")    # control: the old label still works
    assert other.info["recipe_name"] == "old-name"
