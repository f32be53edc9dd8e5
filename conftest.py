"""
Collection settings for a plain ``pytest`` run from the repository root.
"""

from __future__ import annotations

import importlib.util


# The PostgreSQL store needs the optional extra; without it there is nothing to collect there.
collect_ignore = (
    [] if importlib.util.find_spec("psycopg") else ["src/permission_networking/stores/postgres.py"]
)
