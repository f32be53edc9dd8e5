"""
Turn what users already have into interactions with deterministic ids.

Each importer returns (or yields) `Interaction` values whose ids depend only
on the file's content, so recording the same file twice adds nothing:

* `read_linkedin_export`: a LinkedIn "Download your data" archive, every era;
* `read_mailchimp_export`: Mailchimp audience exports (subscribed,
  unsubscribed and cleaned members);
* `read_jsonl`: JSON Lines of `Interaction.to_dict` objects.

A file that is not what an importer expects raises `ImportFormatError`
(importable from here as well as from the package), naming the file (and
the line, when one is to blame). The LinkedIn and Mailchimp importers read
everything before they return; `read_jsonl` yields as it reads, so collect
it (``list(read_jsonl(path))``) before recording when a bad line should
leave nothing stored.
"""

from __future__ import annotations

from permission_networking.exceptions import ImportFormatError

from .jsonl import read_jsonl
from .linkedin import read_linkedin_export
from .mailchimp import read_mailchimp_export


__all__ = ["ImportFormatError", "read_jsonl", "read_linkedin_export", "read_mailchimp_export"]
