"""Browsers driven for vauth's tester fixtures beyond Playwright's own (see ``firefox``)."""
