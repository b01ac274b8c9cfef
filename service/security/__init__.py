"""Web security: API keys, page tokens, allowed origins, rate limits, response headers."""
