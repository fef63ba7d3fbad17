"""YAML loading that remembers line numbers, so rule errors can point at the file, line and field."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A mapping from a YAML file, with the line (1-based) where it and each of its keys start."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Return the line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence from a YAML file, with the line of each item."""

    line: int = 0
    item_lines: list[int]


# libyaml's parser, where PyYAML was built with it, reads the built-in rules about six times faster than
# the pure-Python one, which every command pays at start. Both give the same nodes, marks and errors.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        # PyYAML keeps the last of two equal keys silently; in a rule that hides a mistake.
        if key in result:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse a YAML file into LineDict/LineList values; raise yaml.YAMLError with the position on bad syntax."""
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_LineLoader)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text the same way as `load_yaml`."""
    return yaml.load(text, Loader=_LineLoader)


def expand_yaml_paths(paths: Iterable[Path], kind: str) -> list[Path]:
    """Expand folders into the .yaml/.yml files under them, sorted; raise FileNotFoundError naming `kind`."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{kind} file or folder not found: {path}")
    return files
