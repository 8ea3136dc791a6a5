"""Finding and reading taxonomy files: by name (shipped or user-supplied) or by path.

Shipped taxonomies live in the top-level ``taxonomies/`` folder of the source tree. A wheel carries
them as ``memex_audit/_shipped/taxonomies``; an editable install does not see that copy through
``importlib.resources``, so both places are looked up (the packaged copy first).
Users add their own by passing a path, or by listing folders in ``MEMEX_AUDIT_TAXONOMIES``
(separated like ``PATH``); those are searched before the shipped ones.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from memex_audit.errors import TaxonomyError
from memex_audit.taxonomy._models import Taxonomy

ENV_VAR = "MEMEX_AUDIT_TAXONOMIES"
_SUFFIXES = (".yaml", ".yml")


def shipped_taxonomy_dir() -> Path | None:
    """The folder holding the taxonomies shipped with memex_audit, or ``None`` if it is missing."""
    packaged = resources.files("memex_audit").joinpath("_shipped", "taxonomies")
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[2] / "taxonomies"
    if source_tree.is_dir():
        return source_tree
    return None


def taxonomy_dirs() -> list[Path]:
    """Folders searched for a taxonomy name: ``MEMEX_AUDIT_TAXONOMIES`` entries, then the shipped folder."""
    dirs = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    shipped = shipped_taxonomy_dir()
    if shipped is not None:
        dirs.append(shipped)
    return dirs


def available_taxonomies() -> dict[str, Path]:
    """Every taxonomy that can be chosen by name, mapped to its file (earlier folders win)."""
    found: dict[str, Path] = {}
    for folder in taxonomy_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in _SUFFIXES:
                found.setdefault(path.stem, path)
    return found


def _field_path(loc: tuple[int | str, ...], data: object) -> str:
    """A dotted field path, naming categories by their id where possible (``categories[mast_1_1].definition``)."""
    parts: list[str] = []
    node: object = data
    for item in loc:
        if isinstance(item, int) and isinstance(node, list):
            element = node[item] if item < len(node) else None
            ident = element.get("id") if isinstance(element, dict) else None
            parts[-1] = (
                f"{parts[-1]}[{ident}]" if ident and parts else f"{parts[-1] if parts else ''}[{item}]"
            )
            node = element
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)


def parse_taxonomy(text: str, *, source: str = "<string>") -> Taxonomy:
    """Validate taxonomy YAML text.

    Raises:
        TaxonomyError: The text is not YAML or does not describe a valid taxonomy; the message
            names ``source`` and the offending field.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise TaxonomyError(f"{source}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise TaxonomyError(f"{source}: a taxonomy file must hold a mapping with 'name' and 'categories'")
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = _field_path(tuple(err["loc"]), data) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"field {field}: {message}")
        raise TaxonomyError(f"{source}: invalid taxonomy: " + "; ".join(problems)) from exc


def read_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate one taxonomy file.

    Raises:
        TaxonomyError: The file cannot be read or does not validate.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaxonomyError(f"{file}: cannot read taxonomy file: {exc.strerror or exc}") from exc
    return parse_taxonomy(text, source=str(file))


def load_taxonomy(name_or_path: str | Path | Taxonomy) -> Taxonomy:
    """A taxonomy by name (``memex``, ``mast``, ``trail``, ``customer_service``, ``coding``, or a
    user's) or by the path of a YAML file.

    Raises:
        TaxonomyError: The name is unknown (the message lists the known ones) or the file is invalid.
    """
    if isinstance(name_or_path, Taxonomy):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix in _SUFFIXES or os.sep in text or path.exists():
        if not path.is_file():
            raise TaxonomyError(f"{path}: no such taxonomy file")
        return read_taxonomy(path)
    known = available_taxonomies()
    if text not in known:
        names = ", ".join(sorted(known)) or "none found"
        raise TaxonomyError(
            f"unknown taxonomy {text!r}; choose one of: {names}, or pass a path to a YAML file"
        )
    return read_taxonomy(known[text])
