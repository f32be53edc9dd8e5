"""
Run the command line: ``python -m permission_networking``.
"""

from __future__ import annotations

from .cli import main


raise SystemExit(main())
