"""Reading back a file genlab (or someone else) wrote: JSON and YAML records that may be missing,
empty, truncated, stray or foreign. Each reader gets the content, None for a missing file, or one
StorageError line naming the file and what is wrong with it: never a parser's traceback."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from genlab.errors import StorageError, first_line


def read_json(path: Path, what: str, keys: tuple[str, ...] = ()) -> dict | None:
    """The JSON object in path (None when there is no such file). what: what the file should be
    ("a status file"); keys: what such a file always holds."""
    text = _text(path)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as e:
        raise _unreadable(path, what, f"not JSON: {first_line(e, 80)}") from None
    return _checked(path, what, value, keys)


def read_yaml(path: Path, what: str, kind: type = dict):
    """The YAML document in path, which must be a `kind` (dict or list); None when missing."""
    text = _text(path)
    if text is None:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise _unreadable(path, what, f"not YAML: {first_line(e, 80)}") from None
    if not isinstance(value, kind):
        raise _unreadable(path, what, f"it holds a {type(value).__name__}, not a {kind.__name__}")
    return value


def _text(path: Path) -> str | None:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StorageError(f"{path} is a folder, not a file") from None
    except OSError as e:
        raise StorageError(f"cannot read {path}: {e.strerror}") from None
    if not raw.strip():
        raise StorageError(f"{path} is empty: was a write cut short? delete it, or write it again")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise StorageError(f"{path} is not text: a stray or foreign file?") from None


def _checked(path: Path, what: str, value, keys: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise _unreadable(path, what, f"it holds a {type(value).__name__}, not an object")
    missing = [k for k in keys if k not in value]
    if missing:
        raise _unreadable(path, what, f"no {missing[0]!r} in it")
    return value


def _unreadable(path: Path, what: str, why: str) -> StorageError:
    return StorageError(f"{path} is not {what} ({why}); a stray, foreign or truncated file?")
