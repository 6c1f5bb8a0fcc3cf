"""The staff screens: Jinja2 pages, vendored JS/CSS and gettext catalogues (see web/pages.py)."""
