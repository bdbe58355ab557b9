"""Embedded development services: SecantusDB (MongoDB wire protocol) and redis-server.

Started as separate processes by `trailroom dev` and by the test suite when no URL is configured.
SecantusDB is GPL-2.0 and is only ever run as its own process, never imported.
"""
