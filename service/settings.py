"""Every setting citeqa reads from the environment, with its default and meaning."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One configurable value: environment variable, default and description."""

    env: str
    default: str
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("CITEQA_CORPUS_DIR", "corpus",
            "Folder of documents to index (.txt, .md, .html, .pdf)."),
    Setting("CITEQA_DATA_DIR", "data", "Folder where the embedded Chroma store keeps the index."),
    Setting("CITEQA_COLLECTION", "citeqa", "Name of the Chroma collection (3+ characters)."),
    Setting("CITEQA_CHROMA_URL", "",
            "URL of a `chroma run` server; empty uses the embedded store."),
    Setting("CITEQA_TOP_K", "5", "Passages retrieved per question when the request sets none."),
    Setting("CITEQA_MAX_TOP_K", "20", "Largest `top_k` a request may ask for."),
    Setting("CITEQA_MAX_BODY_BYTES", "65536", "Largest request body accepted (bytes)."),
    Setting("CITEQA_MAX_QUESTION_CHARS", "1000", "Longest question accepted (characters)."),
    Setting("CITEQA_MAX_HISTORY_TURNS", "20", "Most history messages accepted with a question."),
    Setting("CITEQA_BACKEND", "extractive", "Answer backend: `extractive` (offline) or `openai`."),
    Setting("CITEQA_LLM_BASE_URL", "",
            "Base URL of an OpenAI-compatible server (vLLM, Ollama, llama.cpp: "
            "`http://host:port/v1`); empty uses OpenAI's."),
    Setting("CITEQA_LLM_API_KEY", "", "API key sent to the LLM server; empty for servers without."),
    Setting("CITEQA_LLM_MODEL", "gpt-4o-mini", "Model name asked of the LLM server."),
    Setting("CITEQA_LLM_TIMEOUT", "30",
            "Seconds to wait for the LLM (per try) before answering extractively instead."),
    Setting("CITEQA_LLM_RETRIES", "1", "Retries of a failed or timed-out LLM call (0: none)."),
    Setting("CITEQA_LLM_MAX_TOKENS", "400", "Most tokens the LLM may write per answer."),
    Setting("CITEQA_PROMPTS_DIR", "",
            "Folder of the LLM prompt files; empty uses `prompts/` of the source checkout."),
    Setting("CITEQA_ALLOWED_ORIGINS", "",
            "Comma-separated origins (`https://portal.example`) that may frame `/embed` and call "
            "the API cross-origin; empty allows the same origin only."),
    Setting("CITEQA_FEEDBACK_DB", "",
            "SQLite file for thumbs up/down feedback; empty uses `feedback.sqlite3` in the data "
            "folder."),
    Setting("CITEQA_EXAMPLES", "",
            "Example questions shown on an empty chat, separated by `|`; empty reads "
            "`examples.json` (a JSON list) in the corpus folder."),
    Setting("CITEQA_WIDGET_SECRET", "",
            "Key that signs the widget's short-lived origin-bound tokens; set the same value on "
            "every replica (empty: a random key kept in the data folder)."),
    Setting("CITEQA_CHROMA_TIMEOUT", "10",
            "Seconds before a call to the Chroma server gives up (503 to the client)."),
    Setting("CITEQA_INDEX_CHECK_SECONDS", "1",
            "How often a serving process checks for a rebuilt index (seconds)."),
    Setting("CITEQA_API_KEYS", "",
            "Comma-separated API keys (`sha256:<hex>` or plaintext, hashed at startup); "
            "empty leaves the API open."),
    Setting("CITEQA_RATE_LIMIT", "300/minute",
            "API requests allowed per API key (per client IP without a key); empty: no limit."),
    Setting("CITEQA_RATE_LIMIT_IP", "600/minute",
            "API requests allowed per client IP, whatever the key; empty: no limit."),
    Setting("CITEQA_REDIS_URL", "",
            "Redis URL for rate-limit counters shared by processes; empty keeps them in memory."),
    Setting("CITEQA_RATE_LIMIT_FAIL_OPEN", "true",
            "When Redis is down: `true` serves without limits, `false` answers 503."),
    Setting("CITEQA_PROXY_HOPS", "0",
            "Reverse proxies in front of the service whose X-Forwarded-* headers are trusted."),
    Setting("CITEQA_ABSTENTION", "balanced",
            "Offline abstention profile: `balanced`, or `strict` (refuses more; tuned on SQuAD)."),
    Setting("CITEQA_MODEL_THREADS", "1",
            "CPU threads per serving process for embedding a query; more oversubscribes cores."),
    Setting("CITEQA_MODEL_CACHE", "",
            "Folder of this machine's ONNX export of the embedding model, linked into each data "
            "folder (empty: `~/.cache/citeqa/models`)."),
)


TRUE = {"1", "true", "yes", "on"}


def _read(env: str) -> str:
    """Return the environment value of a setting, or its default."""
    spec = next(s for s in SETTINGS if s.env == env)
    return os.environ.get(env, spec.default)


def _split(value: str, sep: str) -> tuple[str, ...]:
    """Split a list setting, dropping blanks and trailing slashes of origins."""
    return tuple(v.strip().rstrip("/") if sep == "," else v.strip()
                 for v in value.split(sep) if v.strip())


@dataclass(frozen=True)
class Config:
    """Resolved settings of one process."""

    corpus_dir: Path
    data_dir: Path
    collection: str
    chroma_url: str
    top_k: int
    max_top_k: int
    max_body_bytes: int
    max_question_chars: int
    max_history_turns: int
    backend: str
    llm_base_url: str
    llm_api_key: str
    llm_model: str
    llm_timeout: float
    llm_retries: int
    llm_max_tokens: int
    prompts_dir: str
    allowed_origins: tuple[str, ...]
    feedback_db: Path
    examples: tuple[str, ...]
    widget_secret: str
    chroma_timeout: float
    index_check_seconds: float
    api_keys: str
    rate_limit: str
    rate_limit_ip: str
    redis_url: str
    rate_limit_fail_open: bool
    proxy_hops: int
    model_threads: int
    abstention: str

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """Build the configuration from the environment, then apply overrides."""
        values: dict[str, Any] = {
            "corpus_dir": Path(_read("CITEQA_CORPUS_DIR")),
            "data_dir": Path(_read("CITEQA_DATA_DIR")),
            "collection": _read("CITEQA_COLLECTION"),
            "chroma_url": _read("CITEQA_CHROMA_URL"),
            "top_k": int(_read("CITEQA_TOP_K")),
            "max_top_k": int(_read("CITEQA_MAX_TOP_K")),
            "max_body_bytes": int(_read("CITEQA_MAX_BODY_BYTES")),
            "max_question_chars": int(_read("CITEQA_MAX_QUESTION_CHARS")),
            "max_history_turns": int(_read("CITEQA_MAX_HISTORY_TURNS")),
            "backend": _read("CITEQA_BACKEND"),
            "llm_base_url": _read("CITEQA_LLM_BASE_URL"),
            "llm_api_key": _read("CITEQA_LLM_API_KEY"),
            "llm_model": _read("CITEQA_LLM_MODEL"),
            "llm_timeout": float(_read("CITEQA_LLM_TIMEOUT")),
            "llm_retries": int(_read("CITEQA_LLM_RETRIES")),
            "llm_max_tokens": int(_read("CITEQA_LLM_MAX_TOKENS")),
            "prompts_dir": _read("CITEQA_PROMPTS_DIR"),
            "chroma_timeout": float(_read("CITEQA_CHROMA_TIMEOUT")),
            "index_check_seconds": float(_read("CITEQA_INDEX_CHECK_SECONDS")),
            "api_keys": _read("CITEQA_API_KEYS"),
            "rate_limit": _read("CITEQA_RATE_LIMIT"),
            "rate_limit_ip": _read("CITEQA_RATE_LIMIT_IP"),
            "redis_url": _read("CITEQA_REDIS_URL"),
            "rate_limit_fail_open": _read("CITEQA_RATE_LIMIT_FAIL_OPEN").lower() in TRUE,
            "proxy_hops": int(_read("CITEQA_PROXY_HOPS")),
            "model_threads": int(_read("CITEQA_MODEL_THREADS")),
            "abstention": _read("CITEQA_ABSTENTION"),
            "allowed_origins": _split(_read("CITEQA_ALLOWED_ORIGINS"), ","),
            "feedback_db": _read("CITEQA_FEEDBACK_DB"),
            "examples": _split(_read("CITEQA_EXAMPLES"), "|"),
            "widget_secret": _read("CITEQA_WIDGET_SECRET"),
        }
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        values.update(overrides)
        values["feedback_db"] = Path(values["feedback_db"] or
                                     Path(values["data_dir"]) / "feedback.sqlite3")
        if values["abstention"] not in ("balanced", "strict"):
            raise ValueError("CITEQA_ABSTENTION must be `balanced` or `strict`")
        if len(values["collection"]) < 3:
            raise ValueError("CITEQA_COLLECTION needs at least 3 characters")
        return cls(**values)
