"""The layout of the design card is in place and installs as documented."""

from conftest import ROOT

LAYOUT = [
    "_config.yml",
    "_toc.yml",
    "requirements.txt",
    "pyproject.toml",
    "Makefile",
    "README.md",
    "references.bib",
    ".ci/run",
    "code/llmloss/__init__.py",
    "chapters/index.md",
    "chapters/errata.md",
    "chapters/glossary.md",
    "chapters/bibliography.md",
]


def test_layout():
    missing = [p for p in LAYOUT if not (ROOT / p).exists()]
    assert not missing, f"missing: {missing}"


def test_torch_bounds_admit_the_pinned_cpu_wheel():
    from packaging.requirements import Requirement

    reqs = [
        Requirement(line)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    torch_req = next(r for r in reqs if r.name == "torch")
    pinned = next(line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("TORCH_SPEC"))
    version = pinned.split("==")[1].strip()
    assert torch_req.specifier.contains(version), f"requirements.txt {torch_req} excludes the pinned {version}"
    assert all(r.specifier for r in reqs), f"unbounded requirements: {[r.name for r in reqs if not r.specifier]}"


def test_readme_gives_the_two_commands_first():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make book" in readme and "make test" in readme
    assert readme.index("make book") < readme.index("##", readme.index("\n")), "the commands come first"
