"""The Flask application: one blueprint per surface, wired by `create_app`."""
