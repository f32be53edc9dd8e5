"""
Sphinx configuration for the permission_networking documentation.
"""

from __future__ import annotations

from importlib.metadata import version as _version


project = "permission_networking"
author = "The permission_networking contributors"
copyright = f"2026, {author}"
release = _version("permission-networking")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

napoleon_google_docstring = True
napoleon_numpy_docstring = False

autodoc_member_order = "bysource"
autodoc_preserve_defaults = True

# There is no intersphinx (the docs build offline), so references into the
# standard library and the dependencies cannot resolve: don't let `-n` flag them.
nitpick_ignore_regex = [
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
