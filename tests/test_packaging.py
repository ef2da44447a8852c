"""pyproject.toml lists every package directory (the launch/ mapping rules out auto-discovery)."""
from __future__ import annotations

import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_is_listed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "disttorch").rglob("__init__.py")}
    assert found | {"disttorch.launch"} == listed
    assert config["package-dir"] == {"disttorch.launch": "launch"}
    assert (ROOT / "launch" / "__init__.py").exists()
