"""tester_project/ is a tester's own project, run from outside vauth's tree (test_wheel.py, and
bench/tester_suite.py): it is not part of vauth's suite."""

collect_ignore = ["tester_project"]
