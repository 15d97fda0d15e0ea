"""The package: pyproject.toml declares the dependencies once, the requirements files that Spaces and ``make``
install from repeat them exactly, and ``pip install .`` gives a ``minicpm-demo`` command that runs from anywhere."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import shutil
import subprocess
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(requirements: list[str]) -> set[tuple[str, tuple[str, ...], str, str]]:
    """Each requirement as (name, extras, version, marker), the name normalised so `Pillow` and `pillow` agree."""
    parsed = [Requirement(line) for line in requirements]
    return {(canonicalize_name(req.name), tuple(sorted(req.extras)), str(req.specifier), str(req.marker or ""))
            for req in parsed}


def file_pins(name: str) -> set[tuple[str, tuple[str, ...], str, str]]:
    """A requirements file's own pins: its comments and its ``-r`` include left out."""
    lines = [line.split(" #")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return pins([line for line in lines if line and not line.startswith(("#", "-"))])


@pytest.mark.parametrize(("name", "declared"), [("requirements.txt", PROJECT["dependencies"]),
                                                ("requirements-gpu.txt", PROJECT["optional-dependencies"]["gpu"]),
                                                ("requirements-dev.txt", PROJECT["optional-dependencies"]["dev"])])
def test_each_requirements_file_pins_what_pyproject_declares(name, declared):
    assert file_pins(name) == pins(declared), f"{name} and pyproject.toml disagree: change both"
    assert all(version.startswith("==") for _, _, version, _ in pins(declared)), "every dependency is pinned"
    if name != "requirements.txt":  # as the extras do, the file installs the runtime too
        assert "-r requirements.txt" in (ROOT / name).read_text().splitlines()


def test_the_console_script_is_the_apps_main_reading_the_command_line_itself():
    module, _, attribute = PROJECT["scripts"]["minicpm-demo"].partition(":")
    main = getattr(importlib.import_module(module), attribute)
    assert callable(main)
    assert inspect.signature(main).parameters["argv"].default is None  # the script calls main()


def test_pip_install_gives_a_minicpm_demo_command_that_runs_from_anywhere(tmp_path):
    # A copy: building writes build/ and *.egg-info beside the sources.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "minicpm_demo", source / "minicpm_demo", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", source)
    prefix = tmp_path / "venv"
    venv.create(prefix, with_pip=False)
    python, elsewhere = prefix / "bin" / "python", tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}

    def run(*command: str | Path) -> str:
        done = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    # This interpreter's packages (pip, setuptools, torch, gradio), after the fresh venv's own: the install is
    # tested without downloading them again. They are a venv's, which --system-site-packages would not show.
    shared = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (site / "shared.pth").write_text("".join(f"import site; site.addsitedir({path!r})\n" for path in shared))

    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--disable-pip-version-check", source)

    usage = run(prefix / "bin" / "minicpm-demo", "--help")
    assert usage.startswith("usage: minicpm-demo") and "--model" in usage and "--reuse-cache-mb" in usage
    where, examples = json.loads(run(python, "-c", "import json; from minicpm_demo.ui import launch; print(json.dumps("
                                     "[launch.__file__, [file for tab in launch.EXAMPLES.values() for example in tab "
                                     "for file in example['files']]]))"))
    assert Path(where).is_relative_to(site), where  # the installed copy, not the checkout
    assert examples and all(Path(file).is_relative_to(site) and Path(file).is_file() for file in examples), examples
    installed = {path.name for path in site.iterdir()} - {"shared.pth"}
    assert installed == {"minicpm_demo", f"minicpm_demo-{PROJECT['version']}.dist-info"}, "the app only"
