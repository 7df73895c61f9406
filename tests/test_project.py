"""The repository's own promises: one source of dependencies, clean notebooks, two commands."""

import json
import re

import pytest
import yaml

from .conftest import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def names(requirements):
    return {re.split(r"[<>=!\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["notebooks"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert {"pip", "nodejs=20"} <= set(conda) and any(d.startswith("python") for d in conda)
    [pip] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert "-e ." in pip, "the kit itself is installed through the pip section"
    listed = [p for p in pip if p != "-e ."]
    assert set(listed) == wanted, "same packages and the same version ranges as pyproject.toml"
    assert names(listed) == names(wanted)


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{path.name} cell {number} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {number} was run"


def test_notebook_names_follow_the_course_sequence():
    allowed = {
        "00_entorno", "01_apis", "02_llms", "03_whatsapp_twilio", "04_respuestas_y_llm",
        "05_postgresql", "06_telegram", "07_linkedin", "08_instagram_facebook", "09_tiktok",
        "10_proyecto_multired",
    }  # fmt: skip
    assert {p.stem for p in NOTEBOOKS} <= allowed


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^make \w+", readme, flags=re.MULTILINE)
    assert commands[:2] == ["make lab", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()
