"""Project hygiene that a reader relies on: pins stated twice agree."""

import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _lock_pins() -> dict[str, str]:
    text = (REPO_ROOT / "requirements.lock").read_text(encoding="utf-8")
    return {
        m["name"].lower().replace("_", "-"): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)", text, re.M)
    }


def test_conda_environment_pins_are_the_lock_files():
    env = (REPO_ROOT / "workflow" / "envs" / "analysis.yaml").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^\s*-\s*([A-Za-z0-9_.-]+)==(\S+)", env, re.M))
    assert pins, "workflow/envs/analysis.yaml pins nothing"
    lock = _lock_pins()
    mismatched = {
        name: (version, lock.get(name.lower().replace("_", "-")))
        for name, version in pins.items()
        if lock.get(name.lower().replace("_", "-")) != version
    }
    assert not mismatched, f"(env pin, lock pin) differ: {mismatched}"
