"""The LLM prompts, shipped as package data so an installed citeqa finds them."""
