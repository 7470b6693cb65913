"""Hyperparameter parsing, validation messages, and the presets file."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import yaml

from jointbench.netsim import (
    VALID_KEYS,
    Link,
    LinkConfig,
    link_config_from_hyperparameters,
    load_network_profiles,
    request_response,
)
from jointbench.netsim.configfiles import CONFIG_DIR_ENV, config_dir

REQUIRED_PRESETS = {
    "co-located",
    "lan",
    "wifi",
    "5g",
    "4g",
    "wan",
    "satellite",
    "lossy",
    "oscillating",
    "markov",
}


def test_empty_hyperparameters_give_ideal_link() -> None:
    cfg = link_config_from_hyperparameters({})
    assert cfg == LinkConfig()
    assert cfg.rtt_ms == 0.0 and math.isinf(cfg.uplink_bandwidth_mbps)


def test_explicit_keys_ianvs_names() -> None:
    cfg = link_config_from_hyperparameters(
        {
            "network_rtt_ms": 40,
            "network_uplink_bandwidth_mbps": 10,
            "network_downlink_bandwidth_mbps": "50",
            "network_jitter_ms": 2.5,
            "network_uplink_ratio": 0.4,
            "network_seed": 7,
            "enable_network_sleep": False,
            "model_name": "smollm2",
            "draft_k": 4,
        }
    )
    assert (cfg.rtt_ms, cfg.uplink_bandwidth_mbps, cfg.downlink_bandwidth_mbps) == (
        40.0,
        10.0,
        50.0,
    )
    assert (cfg.jitter_ms, cfg.uplink_ratio, cfg.seed) == (2.5, 0.4, 7)


def test_profile_with_overrides() -> None:
    cfg = link_config_from_hyperparameters({"network_profile": "4g", "network_seed": 3})
    assert (cfg.rtt_ms, cfg.seed, cfg.profile) == (60.0, 3, "4g")
    cfg2 = link_config_from_hyperparameters(
        {"network_profile": "4g", "network_rtt_ms": 90}, network_loss_pct=0
    )
    assert (cfg2.rtt_ms, cfg2.uplink_bandwidth_mbps, cfg2.loss_pct) == (90.0, 10.0, 0.0)


def test_unknown_network_key_lists_valid_keys() -> None:
    with pytest.raises(ValueError) as err:
        link_config_from_hyperparameters({"network_rtt": 10})
    msg = str(err.value)
    assert "'network_rtt'" in msg
    for key in VALID_KEYS:
        assert key in msg


@pytest.mark.parametrize(
    "key, value",
    [
        ("network_rtt_ms", -5),
        ("network_rtt_ms", "fast"),
        ("network_rtt_ms", math.inf),
        ("network_uplink_bandwidth_mbps", 0),
        ("network_downlink_bandwidth_mbps", -1),
        ("network_jitter_ms", -0.1),
        ("network_jitter_dist", "pareto"),
        ("network_loss_pct", 100),
        ("network_loss_pct", -1),
        ("network_rto_floor_ms", 0),
        ("network_mss_bytes", 0),
        ("network_mss_bytes", 1.5),
        ("network_header_bytes", -40),
        ("network_uplink_ratio", 1.5),
        ("network_seed", -1),
        ("network_seed", True),
        ("network_trace", "bumpy"),
    ],
)
def test_bad_value_names_key_and_value(key: str, value: object) -> None:
    with pytest.raises(ValueError) as err:
        link_config_from_hyperparameters({key: value})
    assert key in str(err.value)
    assert repr(value) in str(err.value) or str(value) in str(err.value)


def test_unknown_profile_lists_presets() -> None:
    with pytest.raises(ValueError, match=r"network_profile='6g'.*available: .*4g"):
        link_config_from_hyperparameters({"network_profile": "6g"})


def test_dataclass_validation_names_the_yaml_key() -> None:
    with pytest.raises(ValueError, match=r"network_rtt_ms=-1"):
        LinkConfig(rtt_ms=-1.0)


def test_to_hyperparameters_round_trip() -> None:
    for cfg in load_network_profiles().values():
        hp = cfg.to_hyperparameters()
        assert all(k in VALID_KEYS for k in hp)
        assert link_config_from_hyperparameters(hp) == cfg


def test_link_accepts_a_mapping() -> None:
    assert Link({"network_profile": "lan"}).config.profile == "lan"


def test_presets_file_has_version_and_required_presets() -> None:
    raw = yaml.safe_load((config_dir() / "network_profiles.yaml").read_text())
    assert raw["version"] == 1
    assert set(raw["profiles"]) >= REQUIRED_PRESETS


@pytest.mark.parametrize("name", sorted(load_network_profiles()))
def test_every_preset_builds_a_working_link(name: str) -> None:
    cfg = link_config_from_hyperparameters({"network_profile": name, "network_seed": 1})
    link = Link(cfg)
    t = 0.0
    for _ in range(50):
        rr = request_response(link, 1200, 400, t_start_ms=t, server_compute_ms=20.0)
        assert rr.total_ms >= 20.0 and rr.network_ms >= 0.0
        t = rr.t_end_ms + 100.0
    assert cfg.profile == name


def _write(folder: Path, text: str) -> Path:
    path = folder / "network_profiles.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_dir_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "version: 1\nprofiles:\n  mine:\n    network_rtt_ms: 123\n")
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    assert config_dir() == tmp_path
    assert link_config_from_hyperparameters({"network_profile": "mine"}).rtt_ms == 123.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("version: 1\nprofiles: [unclosed\n", "not valid YAML"),
        ("profiles:\n  a: {network_rtt_ms: 1}\n", "'version'"),
        ("version: 99\nprofiles:\n  a: {network_rtt_ms: 1}\n", "'version' is 99"),
        ("version: 1\nprofiles: {}\n", "'profiles'"),
        (
            "version: 1\nprofiles:\n  a: {network_rt_ms: 1}\n",
            "profile 'a': unknown key 'network_rt_ms'",
        ),
        ("version: 1\nprofiles:\n  a: {network_rtt_ms: -3}\n", "profile 'a': network_rtt_ms=-3"),
    ],
)
def test_bad_presets_file_is_named(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as err:
        load_network_profiles(path)
    assert str(path) in str(err.value)


def test_missing_presets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=CONFIG_DIR_ENV) as err:
        link_config_from_hyperparameters({"network_profile": "4g"})
    assert str(tmp_path / "network_profiles.yaml") in str(err.value)


def test_presets_file_is_parsed_once_per_version_and_returned_as_a_fresh_copy(tmp_path, monkeypatch):
    import jointbench.netsim.configfiles as configfiles

    f = tmp_path / "presets.yaml"
    f.write_text("version: 1\nprofiles:\n  a: {rtt_ms: 10, tags: [x]}\n")
    parses = []
    real = configfiles._parse_profiles
    monkeypatch.setattr(configfiles, "_parse_profiles", lambda p: parses.append(p) or real(p))
    first = configfiles.read_profiles_file(f)
    first["a"]["rtt_ms"] = 999
    first["a"]["tags"].append("y")  # a caller's edit must not reach the next caller
    assert configfiles.read_profiles_file(f) == {"a": {"rtt_ms": 10, "tags": ["x"]}} and len(parses) == 1
    f.write_text("version: 1\nprofiles:\n  a: {rtt_ms: 20, tags: [x]}\n")  # edited: read again
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000))
    assert configfiles.read_profiles_file(f)["a"]["rtt_ms"] == 20 and len(parses) == 2
