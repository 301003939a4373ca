"""Build the book's downloads into OUT (``make book`` runs it; offline).

    .venv/bin/python takeaway/downloads.py _build/downloads

* ``llmloss-<version>-py3-none-any.whl``: the helper package, built from this
  checkout (``pip wheel --no-deps --no-build-isolation --no-index`` on a copy
  of the sources, so that nothing is written into the working tree; without
  setuptools in the environment pip fetches it, as ``pip install -e .`` does);
* ``llmloss-book-notebooks.zip``: one folder ``llmloss-book/`` with every
  chapter notebook of _toc.yml, the wheel, a ``requirements.txt`` of what the
  notebooks need, and a README that says how to run them.

The Sphinx extension takeaway/sphinx_takeaway.py copies these files into the
site (``_build/html/downloads/``) and lists them on the landing page.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = "llmloss-book-notebooks.zip"
FOLDER = "llmloss-book"
# What the notebooks import (and nbval to check them); the book's toolchain stays out.
NOTEBOOK_REQUIREMENTS = {"torch", "sympy", "numpy", "matplotlib", "tokenizers", "ipykernel", "pytest", "nbval"}

README = """# Loss functions of large language models: the notebooks

Every chapter of the book as a Jupyter notebook, with the helper package
`llmloss` that they import ({wheel}).

## Run them

With Python 3.10 or newer, in this folder:

```bash
python3 -m venv .venv
source .venv/bin/activate            # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt      # PyTorch (CPU or CUDA), SymPy, ...
pip install {wheel}
pip install jupyterlab
jupyter lab
```

and open a chapter. A notebook started where `llmloss` is missing stops in
its first cell and says how to install it from the wheel.

For a GPU, install a CUDA build of PyTorch (within the bounds of
`requirements.txt`) before the other requirements; the notebooks use the GPU
when PyTorch sees one (`LLMLOSS_DEVICE=cpu` forces the CPU).

To check that every notebook reproduces its stored outputs on your machine:

```bash
python -m pytest --nbval --nbval-current-env *.ipynb
```

The notebooks: {notebooks}.
"""


def version() -> str:
    text = (ROOT / "code" / "llmloss" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def chapter_notebooks() -> list[Path]:
    """The notebooks of _toc.yml, in their order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [e for part in toc.get("parts", []) for e in part.get("chapters", [])]
    names = [toc["root"]] + [e["file"] for e in entries if "file" in e]
    return [ROOT / f"{n}.ipynb" for n in names if (ROOT / f"{n}.ipynb").exists()]


def notebook_requirements() -> str:
    lines = ["# What the notebooks need (from the book's requirements.txt)."]
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name = re.match(r"\s*([A-Za-z0-9_.-]+)", line)
        if name and not line.lstrip().startswith("#") and name.group(1).lower() in NOTEBOOK_REQUIREMENTS:
            lines.append(line.strip())
    return "\n".join(lines) + "\n"


def build_wheel(out: Path) -> Path:
    with tempfile.TemporaryDirectory(prefix="llmloss-wheel-") as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (ROOT / name).exists():
                shutil.copy2(ROOT / name, src / name)
        shutil.copytree(
            ROOT / "code" / "llmloss", src / "code" / "llmloss", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        if importlib.util.find_spec("setuptools") is not None:
            cmd += ["--no-build-isolation", "--no-index"]  # offline, with the environment's setuptools
        # else pip fetches setuptools for the build, as `pip install -e .` of `make install` does
        subprocess.run([*cmd, "--wheel-dir", str(out), str(src)], check=True)
    wheel = out / f"llmloss-{version()}-py3-none-any.whl"
    assert wheel.exists(), f"pip wheel did not produce {wheel.name}"
    return wheel


def build_archive(out: Path, wheel: Path) -> Path:
    notebooks = chapter_notebooks()
    readme = README.format(wheel=wheel.name, notebooks=", ".join(f"`{p.name}`" for p in notebooks))
    archive = out / ARCHIVE
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in notebooks:
            zf.write(path, f"{FOLDER}/{path.name}")
        zf.write(wheel, f"{FOLDER}/{wheel.name}")
        zf.writestr(f"{FOLDER}/requirements.txt", notebook_requirements())
        zf.writestr(f"{FOLDER}/README.md", readme)
    return archive


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else ROOT / "_build" / "downloads").resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("llmloss-*.whl"):
        old.unlink()
    wheel = build_wheel(out)
    archive = build_archive(out, wheel)
    print(f"{wheel}\n{archive}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
