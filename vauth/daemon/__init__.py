"""The daemon and its edges: what reaches the application layer from outside.

    root.py          the composition root: serve() wires the devices, the service, the socket,
                     the HTTP API, the uhid transport and the sync runner, and owns them
    actions.py       the socket's routing table: each action's declared parameters and operation
    api/             the aiohttp application (HTTP API, its limits, /openapi.json)
    systemd_unit.py  `vauth service install`: the systemd user unit (its text in vauth/share/)

Importing this package loads nothing: the CLI imports only the part a command needs.
"""
