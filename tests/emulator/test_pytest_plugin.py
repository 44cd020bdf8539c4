"""The pytest plugin in a fresh project, as a new user meets it.

Installing the package registers the plugin with every pytest in that environment, so it must
load without pytest-asyncio (an unrelated test run still passes; a test using its fixtures says
what it needs), and the README's fixture snippet must pass once the README's install command ran.

The throwaway project gets a venv of its own; the package's dependencies come from this venv (a
folder of links to its site-packages, minus pytest-asyncio and this package), so nothing but the
package itself, its build backend and pytest-asyncio are installed, by pip, from the wheel cache.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HIDDEN = ("pytest_asyncio", "pipecat_gemini_live", "__editable__", "__pycache__")
UNRELATED_TEST = "def test_arithmetic():\n    assert 1 + 1 == 2\n"


def readme_plugin_section() -> tuple[str, str]:
    """The README's install command and fixture snippet (the blocks after the plugin sentence)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("In your own tests, the pytest plugin")
    install = re.search(r"```bash\n(.*?)\n```", readme[start:], re.S)
    snippet = re.search(r"```python\n(.*?)```", readme[start:], re.S)
    assert install is not None and snippet is not None
    assert install.start() < snippet.start()
    return install.group(1).strip(), snippet.group(1)


class FreshProject:
    """A folder with its own venv, where pytest runs with none of this repo's settings."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.project.mkdir()
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True
        )
        self.python = root / "venv" / "bin" / "python"
        site = subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        deps = root / "deps"
        deps.mkdir()
        ours = Path(sysconfig.get_paths()["purelib"])
        for entry in ours.iterdir():
            if not entry.name.startswith(HIDDEN) and entry.suffix != ".pth":
                (deps / entry.name).symlink_to(entry)
        Path(site, "_dependencies.pth").write_text(f"{deps}\n")
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV"))
        }
        self.env["PATH"] = f"{self.python.parent}{os.pathsep}{os.environ.get('PATH', '')}"

    def pip(self, command: str) -> None:
        """A ``pip ...`` command line, run for this venv (it has no pip of its own)."""
        words = shlex.split(command.replace("path/to/pipecat-gemini-live", str(ROOT)))
        assert words[0] == "pip", command
        done = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), *words[1:], "-q"],
            cwd=self.project, env=self.env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    def pytest(self, **files: str) -> subprocess.CompletedProcess[str]:
        for name, text in files.items():
            (self.project / f"{name}.py").write_text(text)
        return subprocess.run(
            [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(f"{n}.py" for n in files)],
            cwd=self.project, env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def has(self, module: str) -> bool:
        check = (
            f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        )
        return (
            subprocess.run([self.python, "-c", check], cwd=self.project, env=self.env).returncode
            == 0
        )


@pytest.fixture
def fresh_project(tmp_path) -> FreshProject:
    return FreshProject(tmp_path)


def test_the_plugin_loads_without_pytest_asyncio_and_its_fixtures_say_what_they_need(
    fresh_project,
):
    fresh_project.pip(f"pip install -e {ROOT}")  # what a user of the clone runs first
    assert fresh_project.has("pipecat_gemini_live") and fresh_project.has("pytest")
    assert not fresh_project.has("pytest_asyncio")

    unrelated = fresh_project.pytest(test_unrelated=UNRELATED_TEST)
    assert unrelated.returncode == 0, unrelated.stdout + unrelated.stderr
    assert "1 passed" in unrelated.stdout

    _, snippet = readme_plugin_section()
    used = fresh_project.pytest(test_readme_snippet=snippet)
    output = used.stdout + used.stderr
    assert used.returncode == 1, output
    assert "2 errors" in used.stdout, output  # each test errors at setup, with the message:
    for fixture in ("gemini_live_emulator", "gemini_live_emulator_factory"):
        assert (
            f"The {fixture} fixture (from pipecat-gemini-live) is async and needs pytest-asyncio, "
            "which is not installed: `pip install pytest-asyncio`"
        ) in output
    assert "Traceback" not in output and "ModuleNotFoundError" not in output


def test_the_readme_snippet_passes_after_the_readme_install_command(fresh_project):
    install, snippet = readme_plugin_section()
    assert not fresh_project.has("pytest_asyncio") and not fresh_project.has("pipecat_gemini_live")
    fresh_project.pip(install)
    assert fresh_project.has("pytest_asyncio")
    done = fresh_project.pytest(test_readme_snippet=snippet, test_unrelated=UNRELATED_TEST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout, done.stdout
