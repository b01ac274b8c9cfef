"""citeqa: answers from documents, with a citation for every claim."""

__version__ = "0.1.0"
