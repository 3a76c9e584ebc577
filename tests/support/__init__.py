"""Helper modules of the suites (no tests here): shared ones at the top, one suite's own in a
subpackage named after it."""
