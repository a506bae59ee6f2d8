"""store/keys.py is the only place that builds key text or names a hash field."""

import io
import re
import tokenize
from pathlib import Path

import pytest

from test.docs import ROOT

PACKAGE = ROOT / "src" / "page_tracker"
SCHEMA = PACKAGE / "store" / "keys.py"
# A hash command of a script that names its field in quotes rather than as a placeholder.
LUA_FIELD = re.compile(r"'H[A-Z]+', KEYS\[\d+\], '[a-z]")
# Key text starts with the prefix: `pt:` as a word of its own ("script:" is no key).
PREFIX = re.compile(r"\bpt:")


def key_text(path: Path) -> list[str]:
    """Return the string literals of a Python file, or the lines of a script, that hold `pt:`."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".lua":
        return [line for line in text.splitlines() if re.search(r"""['"]pt:""", line)]
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return [
        token.string
        for token in tokens
        if token.type == tokenize.STRING and PREFIX.search(token.string)
    ]


SOURCES = sorted([*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.lua")])


def test_the_check_sees_key_text_where_it_is() -> None:
    assert len(key_text(SCHEMA)) > 20


@pytest.mark.parametrize("path", [p for p in SOURCES if p != SCHEMA], ids=lambda p: p.name)
def test_no_key_text_outside_the_schema(path: Path) -> None:
    assert key_text(path) == [], f"{path.relative_to(ROOT)} builds key text: use store/keys.py"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.lua")), ids=lambda p: p.name)
def test_scripts_name_hash_fields_from_the_schema(path: Path) -> None:
    assert not LUA_FIELD.findall(path.read_text(encoding="utf-8"))
