"""Maps that cannot go stale: every path the docs and docstrings name exists, architecture.md
lists every module, the import rules it states hold, the docs build as a site, the test map
names every test file, and no source file outgrows a screenful of screens (300 lines)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "genlab"
SOURCES = sorted(
    p for d in ("genlab", "hydra_plugins", "tests", "scripts") for p in (REPO / d).rglob("*.py")
)
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md", REPO / "tests" / "README.md"]
KINDS = "py|yaml|md|sh|png|ipynb|toml"
PATH = re.compile(  # a path with a folder (trainers/step.py, conf/model/) or a bare file name
    rf"""(?<![\w./<>-])(
        (?:[\w.-]+/)+ (?: [\w.-]+\.(?:{KINDS})\b | (?=[\s`'"),;:]) )
      | [\w-]+\.(?:py|yaml|sh|ipynb)\b
    )""",
    re.VERBOSE,
)
# what runs write (a run directory, a data root), not files of the repository
ELSEWHERE = ("outputs/", "data/", "checkpoints/", "images/samples", ".hydra/", "/tmp/", "/shared/")
# records runs and sweeps write
RUN_FILES = ("overrides.yaml", "hydra.yaml", "optimization_results.yaml", "multirun.yaml")


def room(module: str) -> str:
    """genlab.trainers.step -> trainers; genlab.train -> commands; genlab.errors -> errors."""
    parts = module.split(".")
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return parts[1]
    return "errors" if parts[1:2] == ["errors"] else "commands"


ROW = re.compile(r"^\| `(\w+)(?:/|\.py)` \| (.*) \|$")


def rules() -> dict[str, set[str]]:
    """docs/architecture.md's "Dependency rules" table: room -> the rooms (or modules, such as
    trainers/step.py) it may import besides itself. The commands may import anything; a room
    missing from the table may import nothing else."""
    text = (REPO / "docs" / "architecture.md").read_text()
    section = text.split("## Dependency rules", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        if m := ROW.match(line.strip()):
            names = re.findall(r"`([\w/.]+)`", m.group(2))
            table[m.group(1)] = {
                n.removesuffix("/").removesuffix(".py").replace("/", ".") for n in names
            }
    return table


def imports(path: Path) -> list[str]:
    """Every genlab module a file imports (at the top or inside a function)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return [m for m in out if m == "genlab" or m.startswith("genlab.")]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: module_of(p))
def test_each_room_imports_only_what_the_rules_allow(path):
    here = room(module_of(path))
    if here == "commands":
        return
    allowed = rules().get(here, set())
    for imported in imports(path):
        there = room(imported)
        if there == here:
            continue
        sub = ".".join(imported.split(".")[1:3])  # trainers.step
        assert there in allowed or sub in allowed, f"{module_of(path)} imports {imported}"


def test_the_hydra_plugins_use_only_the_rooms_below_the_commands():
    for path in (REPO / "hydra_plugins").rglob("*.py"):
        for imported in imports(path):
            allowed = {"cli", "config", "search", "runs", "storage", "errors"}
            assert room(imported) in allowed, (path, imported)


def test_architecture_md_lists_every_module_and_a_rule_for_every_room():
    text = (REPO / "docs" / "architecture.md").read_text()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)  # trainers/step.py, train.py; a package: trainers/
        name = f"{rel.parent}/" if rel.name == "__init__.py" and len(rel.parts) > 1 else str(rel)
        assert name in text, f"docs/architecture.md never names {rel}"
    rooms = {room(module_of(p)) for p in PACKAGE.rglob("*.py")} - {"commands"}
    assert rooms <= set(rules()), f"no dependency rule for {rooms - set(rules())}"


def _named_paths(text: str) -> set[str]:
    return {m.group(1).rstrip(".") for m in PATH.finditer(text)}


def _docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text())
    nodes = [tree, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef))]
    return "\n".join(ast.get_docstring(n) or "" for n in nodes)


def _exists(name: str, source: Path) -> bool:
    if "/" not in name:  # a bare file name: some file of the repository has it
        return any(REPO.glob(f"[!.]*/**/{name}")) or (REPO / name).exists()
    bases = (REPO, PACKAGE, REPO / "docs", source.parent, REPO / "conf")
    return any((base / name).exists() for base in bases)


@pytest.mark.parametrize("source", [*DOCS, *SOURCES], ids=lambda p: str(p.relative_to(REPO)))
def test_every_path_named_in_the_docs_and_docstrings_exists(source):
    text = source.read_text() if source.suffix == ".md" else _docstrings(source)
    names = [n for n in _named_paths(text) if not n.startswith(ELSEWHERE) and n not in RUN_FILES]
    names = [n for n in names if not (n.endswith("/") and n.count("/") == 1)]  # train/, eval/ tags
    missing = [name for name in names if not _exists(name, source)]
    assert not missing, f"{source.relative_to(REPO)} names {missing}, which do not exist"


def test_the_readme_is_for_the_first_ten_minutes():
    assert len((REPO / "README.md").read_text().splitlines()) <= 300


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_source_file_is_over_300_lines(path):
    assert len(path.read_text().splitlines()) <= 300


def test_every_package_is_in_the_wheel():
    text = (REPO / "pyproject.toml").read_text()
    for init in PACKAGE.rglob("__init__.py"):
        assert f'"{module_of(init)}"' in text, f"pyproject.toml does not ship {module_of(init)}"


def test_the_test_map_names_every_test_file():
    text = (REPO / "tests" / "README.md").read_text()
    for path in (REPO / "tests").glob("test_*.py"):
        assert path.name in text, f"tests/README.md does not say what {path.name} covers"


def test_the_docs_build_as_a_site_without_warnings(tmp_path):
    """mkdocs --strict: a broken link or a page missing from the nav fails the build."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "index.html").is_file() and (
        tmp_path / "architecture" / "index.html"
    ).is_file()
