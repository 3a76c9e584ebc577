"""Start the Wyoming server from a source checkout: ``python run_wyoming_server.py ARGS``.

The Home Assistant tests run the server in a child process, because the Home Assistant
venv may pin an older ``wyoming``. Where the project is not pip-installed (the newest-HA
test root), ``qwen_asr_realtime`` is mapped onto the integration's client folder the way
tests/support/source_imports.py does (and pyproject's package-dir mapping does when installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

# The repository root: tests.support.source_imports.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.support.source_imports import expose_source_packages

if __name__ == "__main__":
    expose_source_packages()
    from wyoming_server.__main__ import main

    sys.exit(main(sys.argv[1:]))
