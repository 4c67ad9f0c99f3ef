"""Loading the harnesses of bench/fuzz/ in the test process."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
FUZZ = ROOT / "bench" / "fuzz"


def harness(target: str) -> ModuleType:
    """bench/fuzz/<target>.py as a module (its ``test_one_input`` raises on a failed property)."""
    if str(FUZZ) not in sys.path:
        sys.path.insert(0, str(FUZZ))
    return importlib.import_module(target)
