"""The test suites, one folder per package they test (wyoming_server/, qwen_asr_realtime/,
qwen_asr/) or per system suite, and their helpers in support/.

Every folder is a package: pytest's rootdir-based import then puts the repository root on
``sys.path``, never ``tests/`` or a test folder, so ``tests/wyoming_server`` cannot shadow the
real ``wyoming_server``. Helpers are imported absolutely (``from tests.support.ports import ...``).
"""
