"""One lock for the work that builds Python syntax trees in a serving process.

CPython 3.11 keeps the `ast` module's recursion counter per interpreter, not per thread
(python/cpython#106905): two threads building syntax trees at once can fail with
"SystemError: AST constructor recursion depth mismatch". numpy parses each `.npy` header with
`ast.literal_eval` and werkzeug compiles each route with `ast`, so opening an index (in a
background load or reload) and registering an app's routes each hold this lock.
"""

from __future__ import annotations

import threading

AST_LOCK = threading.Lock()
