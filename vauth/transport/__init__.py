"""Framings around the core: CTAPHID (and its Linux uhid backend), native messaging, sockets."""
