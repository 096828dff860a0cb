"""The results page's generated blocks: a benchmark writes its table between `<!-- KEY -->` and
`<!-- /KEY -->` in docs/results.md, so measured numbers are never copied by hand."""

from __future__ import annotations

from pathlib import Path

from genlab.errors import ConfigError


def update_docs(path: Path, key: str, table: str) -> None:
    """Replaces what lies between `<!-- KEY -->` and `<!-- /KEY -->` in path with table."""
    text, begin, end = docs_block(path, key)
    head, rest = text.split(begin, 1)
    path.write_text(f"{head}{begin}\n\n{table}\n{end}{rest.split(end, 1)[1]}")


def docs_block(path: Path, key: str) -> tuple[str, str, str]:
    """path's text and its `<!-- KEY -->`, `<!-- /KEY -->` markers; a page without them refused."""
    text = path.read_text()
    begin, end = f"<!-- {key} -->", f"<!-- /{key} -->"
    if begin not in text or end not in text:
        raise ConfigError(f"--docs {path} has no {begin} ... {end} block to replace")
    return text, begin, end
