"""The template's own code: `copier update` keeps this package current, so do not edit it.

Change its behaviour through the settings (src/config.py), or by wrapping what it offers in
your own code; what your domains need of it, src/database.py re-exports (`app_database`).
Nothing here is a domain: discovery skips packages whose name starts with `_`.
"""
