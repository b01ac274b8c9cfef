"""The HTTP contract: request/response schemas, documented routes, OpenAPI, JSON errors."""
