"""Ingestion in its own processes: the task queue, the `citeqa worker` loop, and `serve`'s
supervision of that worker beside gunicorn."""
