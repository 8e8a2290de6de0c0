"""One checksum for every validated document (processes, methodology packs, competency model).

The SHA-256 of the document's canonical JSON (sorted keys, no spaces): reloading a file that
only differs in comments, layout or key order changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_checksum(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
