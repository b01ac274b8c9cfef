"""The `citeqa` command: index a corpus, ask a question, serve the API."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from service.settings import Config, SettingError


def _config(args: argparse.Namespace) -> Config:
    """Return settings from the environment, overridden by command-line flags."""
    overrides = {k: v for k, v in {
        "corpus_dir": getattr(args, "corpus", None),
        "data_dir": args.data_dir,
        "collection": args.collection,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "workers": getattr(args, "workers", None),
        "threads": getattr(args, "threads", None),
    }.items() if v is not None}
    return Config.from_env(**overrides)


def cmd_index(args: argparse.Namespace) -> int:
    """Index the corpus (incrementally, or `--rebuild` into a new collection) and summarize."""
    from index import switch
    from index.loaders import LoaderError
    from index.store import StoreConfig

    cfg = _config(args)
    build = switch.rebuild if args.rebuild else switch.update
    try:
        report = build(cfg.corpus_dir, StoreConfig(cfg.data_dir, cfg.collection, cfg.chroma_url,
                                                   cfg.chroma_timeout))
    except LoaderError as exc:
        print(f"citeqa index: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a damaged store raises many kinds: say what to do, no traceback
        if args.rebuild or cfg.chroma_url:
            raise
        print(f"citeqa index: the index store cannot be read ({exc.__class__.__name__}: "
              f"{str(exc)[:200]}); run `citeqa index --rebuild` to set it aside and rebuild",
              file=sys.stderr)
        return 3
    print(report.summary())
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question from the command line."""
    from service.core.engine import Engine
    from service.web.convert import answer

    engine = Engine(_config(args))
    engine.load()
    if engine.status:
        print(f"citeqa ask: {engine.status}", file=sys.stderr)
        return 3
    result = engine.answer(args.question)
    if args.json:
        print(json.dumps(answer(result).model_dump(), indent=2))
        return 0
    print(result.answer)
    if result.abstained:
        print(f"\n(reason: {result.reason})")
    for c in result.citations:
        print(f"\n[{c.id}] {c.title} ({c.document_id}, chars {c.start}-{c.end})\n    {c.text}")
    return 0


WORKERS = {"gevent": "service.web.worker.GeventWorker",
           "gthread": "service.web.worker.ThreadWorker"}


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API under gunicorn, a production WSGI server."""
    cfg = _config(args)
    env = dict(os.environ, CITEQA_DATA_DIR=str(cfg.data_dir), CITEQA_COLLECTION=cfg.collection)
    # Workers are separate processes: /metrics adds them up only through shared files, which
    # must start empty; they live beside the index so nothing is left behind in /tmp.
    if "PROMETHEUS_MULTIPROC_DIR" not in env:
        metrics = cfg.data_dir / "metrics"
        shutil.rmtree(metrics, ignore_errors=True)
        metrics.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{cfg.host}:{cfg.port}",
            "--workers", str(cfg.workers), "--worker-class", WORKERS[cfg.worker_class],
            "--threads", str(cfg.threads), "--worker-connections", "1000",
            "--timeout", "60", "service.web.app:create_app()"]
    os.execve(sys.executable, argv, env)
    return 0  # not reached: execve replaces the process


def cmd_feedback_export(args: argparse.Namespace) -> int:
    """Write stored feedback as JSONL eval cases (stdout, or `--output`)."""
    from service.web.feedback import FeedbackStore, export_jsonl

    store = FeedbackStore(args.db or _config(args).feedback_db)
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        out.writelines(export_jsonl(store))
    finally:
        if args.output:
            out.close()
    return 0


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    top = argparse.ArgumentParser(prog="citeqa", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index folder (CITEQA_DATA_DIR)")
    common.add_argument("--collection", help="collection name (CITEQA_COLLECTION)")
    index = sub.add_parser("index", parents=[common], help="index a corpus folder")
    index.add_argument("--corpus", type=Path, help="corpus folder (CITEQA_CORPUS_DIR)")
    index.add_argument("--rebuild", action="store_true",
                       help="build a new collection and switch serving processes to it")
    index.set_defaults(func=cmd_index)
    ask = sub.add_parser("ask", parents=[common], help="answer a question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ask.set_defaults(func=cmd_ask)
    serve = sub.add_parser("serve", parents=[common], help="serve the web API")
    serve.add_argument("--host", help="address to listen on (HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (WORKERS)")
    serve.add_argument("--threads", type=int, help="threads per worker (THREADS)")
    serve.set_defaults(func=cmd_serve)
    feedback = sub.add_parser("feedback", help="work with readers' thumbs up/down")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", parents=[common], help="write feedback as JSONL")
    export.add_argument("--db", type=Path, help="feedback database (CITEQA_FEEDBACK_DB)")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=cmd_feedback_export)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the command line; a bad setting is one line naming the variable, not a traceback."""
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingError as exc:
        print(f"citeqa {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
