"""Every setting citeqa reads from the environment, declared once with its default and meaning.

    Config.from_env(top_k=3)   # the environment (CITEQA_*, HOST, PORT, …), then overrides

A bad value fails at startup with the variable's name: `CITEQA_TOP_K: Input should be a
valid integer`. docs/settings.md's table is written from this declaration (`make docs-tables`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from index.addresses import networks
from index.crawl import Limits

PREFIX = "CITEQA_"
Origins = Annotated[tuple[str, ...], NoDecode]  # comma-separated, not JSON
Questions = Annotated[tuple[str, ...], NoDecode]  # separated by `|`


def _plain(env: str) -> Any:
    """Read a field from an unprefixed variable (HOST, PORT, …) as well as CITEQA_…."""
    return AliasChoices(env.lower(), env)


class SettingError(ValueError):
    """A setting's value is invalid; the message starts with the variable's name."""


class Config(BaseSettings):
    """Resolved settings of one process."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, frozen=True, extra="forbid",
                                      populate_by_name=True)

    corpus_dir: Path = Field(Path("corpus"),
                             description="Folder of documents to index (.txt, .md, .html, .pdf).")
    data_dir: Path = Field(Path("data"),
                           description="Folder where the embedded Chroma store keeps the index.")
    collection: str = Field("citeqa", min_length=3,
                            description="Name of the Chroma collection (3+ characters).")
    chroma_url: str = Field("", description="URL of a `chroma run` server; empty uses the "
                                            "embedded store.")
    top_k: int = Field(5, ge=1, description="Passages retrieved per question when the request "
                                            "sets none.")
    max_top_k: int = Field(20, ge=1, description="Largest `top_k` a request may ask for.")
    max_body_bytes: int = Field(65536, ge=1024,
                                description="Largest request body accepted (bytes).")
    max_question_chars: int = Field(1000, ge=1,
                                    description="Longest question accepted (characters).")
    max_history_turns: int = Field(20, ge=0,
                                   description="Most history messages accepted with a question.")
    backend: Literal["extractive", "openai"] = Field(
        "extractive", description="Answer backend: `extractive` (offline) or `openai`.")
    llm_base_url: str = Field("", description="Base URL of an OpenAI-compatible server (vLLM, "
                                              "Ollama, llama.cpp: `http://host:port/v1`); empty "
                                              "uses OpenAI's.")
    llm_api_key: str = Field("", description="API key sent to the LLM server; empty for servers "
                                             "without.")
    llm_model: str = Field("gpt-4o-mini", description="Model name asked of the LLM server.")
    llm_timeout: float = Field(30, gt=0, description="Seconds to wait for the LLM (per try) "
                                                     "before answering extractively instead.")
    llm_retries: int = Field(1, ge=0, description="Retries of a failed or timed-out LLM call "
                                                  "(0: none).")
    llm_max_tokens: int = Field(400, ge=1,
                                description="Most tokens the LLM may write per answer.")
    prompts_dir: str = Field("", description="Folder of the LLM prompt files; empty uses the "
                                             "prompts shipped with citeqa.")
    chroma_timeout: float = Field(10, gt=0, description="Seconds before a call to the Chroma "
                                                        "server gives up (503 to the client).")
    index_check_seconds: float = Field(1, gt=0, description="How often a serving process checks "
                                                            "for a rebuilt index (seconds).")
    import_max_pages: int = Field(200, ge=1, description="Most pages `citeqa import` fetches "
                                                        "from a site per run.")
    import_max_depth: int = Field(5, ge=0, description="Most links `citeqa import` follows from "
                                                       "the start page (0: that page only).")
    import_delay: float = Field(0.5, ge=0, description="Seconds `citeqa import` waits between "
                                                       "requests (a site's robots.txt "
                                                       "Crawl-delay wins when longer).")
    import_timeout: float = Field(10, gt=0, description="Seconds `citeqa import` waits for a "
                                                        "page before skipping it.")
    import_max_page_bytes: int = Field(2_000_000, ge=1024,
                                       description="Largest page `citeqa import` reads "
                                                   "(bytes); larger pages are skipped.")
    import_user_agent: str = Field("citeqa-import/0.1", min_length=1,
                                   description="User agent `citeqa import` sends and matches "
                                               "in robots.txt.")
    import_max_seconds: float = Field(100, gt=0, description="Seconds one site import may spend "
                                                             "fetching; the crawl stops there "
                                                             "and indexes what it has.")
    import_max_crawl_delay: float = Field(10, ge=0, description="Longest robots.txt "
                                                                "Crawl-delay an import honours "
                                                                "(seconds); a longer one is cut "
                                                                "to this.")
    import_allow: str = Field("", description="Comma-separated networks (`127.0.0.0/8, "
                                              "10.0.0.0/8`) imports may fetch from although "
                                              "refused by default (loopback, link-local, "
                                              "0.0.0.0, cloud metadata); the most specific of "
                                              "these and `CITEQA_IMPORT_DENY` decides.")
    import_deny: str = Field("", description="Comma-separated networks imports never fetch "
                                             "from, checked after DNS and on every redirect "
                                             "(`0.0.0.0/0, ::/0` with an allow-list: those "
                                             "networks only).")
    ingest_queue: str = Field("", description="Where ingest jobs wait: empty uses a SQLite file "
                                              "in the data folder (one host); `redis://host:6379"
                                              "/0` a Redis shared by workers on several hosts.")
    ingest_worker: bool = Field(True, description="`citeqa serve` starts an ingest worker "
                                                  "process beside the web workers (`false`: run "
                                                  "`citeqa worker` yourself).")
    ingest_max_seconds: float = Field(600, gt=0, description="Seconds one upload or import job "
                                                             "may run before it fails with "
                                                             "that reason.")
    ingest_max_text_chars: int = Field(2_000_000, ge=1000,
                                       description="Most characters of text one uploaded "
                                                   "document may yield; a larger one fails "
                                                   "(PDFs stop being read at the limit).")
    ingest_max_pages: int = Field(2000, ge=1, description="Most pages an uploaded PDF may have.")
    api_keys: str = Field("", description="Comma-separated reader API keys (`sha256:<hex>` "
                                          "or plaintext, hashed at startup; `KEY@hr+legal` "
                                          "scopes a key to collections); empty leaves reading "
                                          "open.")
    admin_keys: str = Field("", description="Comma-separated admin keys, same format as "
                                            "`CITEQA_API_KEYS`: they manage collections and "
                                            "documents (and may read). A key may be scoped to "
                                            "collections: `KEY@hr+legal`.")
    user_token_secret: str = Field("", description="Shared secret that verifies portal user "
                                                   "tokens (JWT, HS256) in `X-Citeqa-User`; "
                                                   "their `groups` claim opens restricted "
                                                   "documents.")
    user_token_public_key: str = Field("", description="PEM public key that verifies RS256 "
                                                       "user tokens, instead of or beside the "
                                                       "secret.")
    user_token_audience: str = Field("", description="Audience (`aud`) user tokens must carry; "
                                                     "empty: not checked.")
    user_token_issuer: str = Field("", description="Issuer (`iss`) user tokens must carry; "
                                                   "empty: not checked.")
    max_upload_bytes: int = Field(10_000_000, ge=1024,
                                  description="Largest document upload accepted (bytes).")
    rate_limit: str = Field("300/minute", description="API requests allowed per API key (per "
                                                      "client IP without a key); empty: no "
                                                      "limit.")
    rate_limit_ip: str = Field("600/minute", description="API requests allowed per client IP, "
                                                         "whatever the key; empty: no limit.")
    redis_url: str = Field("", description="Redis URL for rate-limit counters shared by "
                                           "processes; empty keeps them in memory.")
    rate_limit_db: Path = Field(Path(), description="SQLite file for rate-limit counters shared "
                                                     "by this host's workers when there is no "
                                                     "Redis; empty uses `ratelimit.sqlite3` in "
                                                     "the data folder.")
    rate_limit_fail_open: bool = Field(True, description="When Redis is down: `true` serves "
                                                         "without limits, `false` answers 503.")
    proxy_hops: int = Field(0, ge=0, description="Reverse proxies in front of the service whose "
                                                 "X-Forwarded-* headers are trusted.")
    abstention: Literal["balanced", "strict"] = Field(
        "balanced", description="Offline abstention profile: `balanced`, or `strict` (refuses "
                                "more; tuned on SQuAD).")
    meaning: bool = Field(True, description="Answer by meaning: citeqa's relevance model picks "
                                            "and refuses offline answers (`false`: word rules "
                                            "only).")
    verify_by_meaning: bool = Field(False, description="Verify an LLM's claims by meaning too: "
                                                       "the relevance model keeps claims put in "
                                                       "other words, but also more contradicted "
                                                       "ones (docs/answers.md, \"Deciding by "
                                                       "meaning\").")
    model_threads: int = Field(1, ge=1, description="CPU threads per serving process for "
                                                    "embedding a query; more oversubscribes "
                                                    "cores.")
    allowed_origins: Origins = Field((), description="Comma-separated origins "
                                                     "(`https://portal.example`) that may frame "
                                                     "`/embed` and call the API cross-origin; "
                                                     "empty allows the same origin only.")
    feedback_db: Path = Field(Path(), description="SQLite file for thumbs up/down feedback; "
                                                  "empty uses `feedback.sqlite3` in the data "
                                                  "folder.")
    examples: Questions = Field((), description="Example questions shown on an empty chat, "
                                                "separated by `|`; empty reads `examples.json` "
                                                "(a JSON list) in the corpus folder.")
    public_url: str = Field("", description="Public address of the service "
                                            "(`https://qa.example`): the origin its page tokens "
                                            "are bound to and the one host name it answers to "
                                            "(IP addresses and `localhost` always work); empty "
                                            "answers those only.")
    public_chat: bool = Field(False, description="With API keys set: `true` gives every visitor "
                                                 "of the chat and widget a page token (a public "
                                                 "chat); `false` only callers with a key or a "
                                                 "portal user token.")
    token_rate_limit: str = Field("30/minute", description="Page tokens minted per client IP "
                                                           "(chat pages and `/widget-token`); "
                                                           "empty: no limit.")
    widget_secret: str = Field("", description="Key that signs the widget's short-lived "
                                               "origin-bound tokens; set the same value on "
                                               "every replica (empty: a random key kept in the "
                                               "data folder).")
    host: str = Field("127.0.0.1", validation_alias=_plain("HOST"),
                      description="Address `citeqa serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, validation_alias=_plain("PORT"),
                      description="Port `citeqa serve` listens on.")
    workers: int = Field(2, ge=1, validation_alias=_plain("WORKERS"),
                         description="Worker processes of `citeqa serve`.")
    threads: int = Field(4, ge=1, validation_alias=_plain("THREADS"),
                         description="Request threads per worker of `citeqa serve` (with "
                                     "`gthread` workers).")
    worker_class: Literal["gevent", "gthread"] = Field(
        "gevent", description="Workers of `citeqa serve`: `gevent` (a greenlet per connection, "
                              "so slow clients cannot hold every worker) or `gthread` (a fixed "
                              "pool of threads).")
    keepalive: int = Field(0, ge=0, description="Seconds `citeqa serve` keeps an idle client "
                                                "connection open for its next request; 0 "
                                                "closes it after each response, so the next "
                                                "request goes to whichever worker is free "
                                                "(a kept connection waits for its own worker). "
                                                "A new connection has this long to send its "
                                                "request (2 s when 0).")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        """Split comma-separated origins, dropping blanks and trailing slashes."""
        if isinstance(value, str):
            return tuple(v.strip().rstrip("/") for v in value.split(",") if v.strip())
        return value

    @field_validator("import_allow", "import_deny")
    @classmethod
    def _networks(cls, value: str) -> str:
        """Refuse a list of networks with one that is not a network."""
        networks(value)
        return value

    @field_validator("examples", mode="before")
    @classmethod
    def _questions(cls, value: Any) -> Any:
        """Split `|`-separated questions, dropping blanks."""
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split("|") if v.strip())
        return value

    @model_validator(mode="after")
    def _files_beside_index(self) -> Config:
        """Keep feedback and rate-limit counters in the data folder unless files are named."""
        for name, default in (("feedback_db", "feedback.sqlite3"),
                              ("rate_limit_db", "ratelimit.sqlite3")):
            if getattr(self, name) == Path():
                object.__setattr__(self, name, self.data_dir / default)
        return self

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """Build the configuration from the environment, then apply overrides."""
        unknown = set(overrides) - set(cls.model_fields)
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        try:
            return cls(**overrides)
        except ValidationError as exc:
            first = exc.errors()[0]
            name = str(first["loc"][0]) if first["loc"] else ""
            raise SettingError(f"{env_name(name)}: {first['msg']}") from None

    def crawl_limits(self, max_pages: int | None = None, max_depth: int | None = None,
                     delay: float | None = None) -> Limits:
        """Return the crawl limits of a site import, with the caller's overrides."""
        return Limits(max_pages=self.import_max_pages if max_pages is None else max_pages,
                      max_depth=self.import_max_depth if max_depth is None else max_depth,
                      delay=self.import_delay if delay is None else delay,
                      timeout=self.import_timeout, max_bytes=self.import_max_page_bytes,
                      user_agent=self.import_user_agent, max_seconds=self.import_max_seconds,
                      max_crawl_delay=self.import_max_crawl_delay, allow=self.import_allow,
                      deny=self.import_deny)


def env_name(field: str) -> str:
    """Return the environment variable that sets a field."""
    info = Config.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        return str(info.validation_alias.choices[-1])
    return PREFIX + field.upper()


@dataclass(frozen=True)
class Setting:
    """One documented setting: environment variable, default and description."""

    env: str
    default: str
    description: str


def _default(info: FieldInfo) -> str:
    """Return a field's default as an operator would write it."""
    value = info.default
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple) or value == Path():
        return ""
    return str(value)


def documented() -> list[Setting]:
    """Return every setting in declaration order."""
    return [Setting(env_name(name), _default(info), info.description or "")
            for name, info in Config.model_fields.items()]


def markdown_table() -> str:
    """Return the settings table of docs/settings.md."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in documented():
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| `{s.env}` | {default} | {s.description.replace('|', chr(92) + '|')} |")
    return "\n".join(rows) + "\n"
