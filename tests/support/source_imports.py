"""Makes the checkout importable the way an install would, for environments without one.

The Home Assistant test environments do not pip-install this project: there the repository
root goes on ``sys.path`` and the protocol client folder is exposed under its distribution
name ``qwen_asr_realtime``, as pyproject's package-dir mapping does. Standard library only.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO_ROOT / "custom_components" / "qwen_asr" / "realtime"


def expose_source_packages() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    if importlib.util.find_spec("qwen_asr_realtime") is not None:
        return
    spec = importlib.util.spec_from_file_location(
        "qwen_asr_realtime",
        CLIENT_DIR / "__init__.py",
        submodule_search_locations=[str(CLIENT_DIR)],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["qwen_asr_realtime"] = module
    spec.loader.exec_module(module)
