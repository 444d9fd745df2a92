"""The entry points: the `matchodds` command and its subcommands, and the embedded local stack (entry.local).

The top layer: it uses the services and the core; nothing below imports it.
"""
