"""The template's own code: `copier update` keeps this package current, so do not edit it.

Change its behaviour through the settings (src/config.py), or by wrapping what it offers in
your own code. What your code imports from it is re-exported by src/database.py and
src/errors.py; nothing here is a domain (discovery skips packages whose name starts with `_`).
"""
