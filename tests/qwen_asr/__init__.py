"""Home Assistant integration tests (run in the HA test environment)."""
