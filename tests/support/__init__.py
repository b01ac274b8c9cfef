"""What the tests share: the real servers they start, their helpers and where their data lies."""
