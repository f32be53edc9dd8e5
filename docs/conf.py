"""
Sphinx configuration for the permission_networking documentation.
"""

from __future__ import annotations

from importlib.metadata import version as _version
from pathlib import Path

from permission_networking import state_diagram


project = "permission_networking"
author = "The permission_networking contributors"
copyright = f"2026, {author}"
release = _version("permission-networking")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
    "sphinxcontrib.mermaid",
]

# The state diagram is generated from TRANSITIONS at every build, so it cannot drift.
_generated = Path(__file__).parent / "_generated"
_generated.mkdir(exist_ok=True)
(_generated / "state_diagram.mmd").write_text(state_diagram("mermaid"), encoding="utf-8")

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

napoleon_google_docstring = True
napoleon_numpy_docstring = False

autodoc_member_order = "bysource"
autodoc_preserve_defaults = True

# There is no intersphinx (the docs build offline), so references into the
# standard library and the dependencies cannot resolve: don't let `-n` flag them.
nitpick_ignore_regex = [
    # The type aliases are documented in api.md; annotations show them by name.
    (r"py:class", r"Instant|Duration|PurposeLike|RuleCheck|ObligationCheck"),
    (
        r"py:.*",
        (
            r"(abc|argparse|collections|contextlib|csv|datetime|dateutil|decimal|enum|io|json"
            r"|os|pathlib|psycopg|re|sqlite3|types|typing|typing_extensions|uuid|zoneinfo"
            r"|attr|attrs)(\..+)?"
        ),
    ),
    (
        r"py:.*",
        (
            r"date|datetime|time|timedelta|timezone|tzinfo|relativedelta|ZoneInfo|Path|PathLike"
            r"|Iterable|Iterator|Mapping|MappingProxyType|Sequence|Callable|Collection|Generator"
            r"|Self|TypeAlias|Protocol|StrEnum|Enum|Connection|Cursor"
        ),
    ),
]

html_theme = "furo"
html_title = f"permission_networking {release}"
