"""Reference values computed by R's metafor; the R scripts beside them regenerate them."""

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load_reference(name: str) -> dict[str, Any]:
    """The JSON reference file ``tests/reference/<name>.json`` (R calls, versions, values)."""
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
