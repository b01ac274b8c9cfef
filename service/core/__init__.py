"""The answering core: question → retrieval → draft → verified answer; no Flask here."""
