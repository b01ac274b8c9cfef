"""Load profile for `make bench-load`: users asking the corpus questions, answered or not."""

from __future__ import annotations

import random

from locust import HttpUser, constant, task

QUESTIONS = (
    "Until when was Operation IMPACT extended?",
    "How much will Canada allocate towards its military efforts?",
    "When did Canada sign a memorandum of understanding with Jordan?",
    "What will Canada cease?",
    "What is the capital of Australia?",
)


class Asker(HttpUser):
    """A client that asks one question after another, without pause."""

    wait_time = constant(0)

    @task
    def ask(self) -> None:
        """Ask a random question; anything but a 200 counts as a failure."""
        with self.client.post("/api/v1/answer", json={"question": random.choice(QUESTIONS)},
                              name="/api/v1/answer", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
