"""The `citeqa` command: index a corpus, ask a question, serve the API."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from service.settings import Config, SettingError

if TYPE_CHECKING:
    from index.store import StoreConfig


def _config(args: argparse.Namespace) -> Config:
    """Return settings from the environment, overridden by command-line flags."""
    overrides = {k: v for k, v in {
        "corpus_dir": getattr(args, "corpus", None),
        "data_dir": args.data_dir,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "workers": getattr(args, "workers", None),
        "threads": getattr(args, "threads", None),
    }.items() if v is not None}
    return Config.from_env(**overrides)


def _store(cfg: Config) -> StoreConfig:
    """Return where the store lives (its base collection)."""
    from index.store import StoreConfig

    return StoreConfig(cfg.data_dir, cfg.collection, cfg.chroma_url, cfg.chroma_timeout)


def cmd_index(args: argparse.Namespace) -> int:
    """Index a folder into a collection (incrementally, or `--rebuild`) and summarize."""
    from index import collections, store, switch
    from index.loaders import LoaderError
    from index.uploads import Queue

    cfg = _config(args)
    base = _store(cfg)
    try:
        api = switch.readable(base) if args.rebuild else store.client(base)
        if not collections.exists(api, base.collection, args.collection):
            print(f"citeqa index: no collection named {args.collection!r}; create it with "
                  "`citeqa collections create`", file=sys.stderr)
            return 2
        target = collections.store_config(base, args.collection)
        # documents uploaded through the API are not in the folder: keep them
        uploaded = Queue.in_folder(cfg.data_dir).ids(args.collection)
        build = switch.rebuild if args.rebuild else switch.update
        report = build(cfg.corpus_dir, target, keep=uploaded.__contains__)
    except (LoaderError, collections.CollectionError) as exc:
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


def cmd_import(args: argparse.Namespace) -> int:
    """Import a web site into the index (incrementally) and summarize."""
    from index import access, collections, store
    from index.crawl import CrawlError
    from index.webimport import import_site

    cfg = _config(args)
    limits = cfg.crawl_limits(args.max_pages, args.max_depth, args.delay)
    base = _store(cfg)
    try:
        groups = access.clean_groups(access.split_groups(args.groups))
        if not collections.exists(store.client(base), base.collection, args.collection):
            raise CrawlError(f"no collection named {args.collection!r}; create it with "
                             "`citeqa collections create`")
        result = import_site(args.url, collections.store_config(base, args.collection), limits,
                             groups=groups)
    except (CrawlError, access.GroupError) as exc:
        print(f"citeqa import: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def cmd_collections(args: argparse.Namespace) -> int:
    """List, create or delete collections."""
    from index import collections, store

    base = _store(_config(args))
    api = store.client(base)
    try:
        if args.action == "create":
            collections.create(api, base.collection, args.name)
        elif args.action == "delete":
            collections.delete(api, base.collection, args.name)
    except collections.CollectionError as exc:
        print(f"citeqa collections: {exc}", file=sys.stderr)
        return 2
    if args.action == "list":
        print("\n".join(collections.names(api, base.collection)))
    else:
        print(f"{args.action}d {args.name}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question from the command line."""
    from index.access import EVERYTHING
    from service.core.engine import Engine
    from service.web.convert import answer

    engine = Engine(_config(args), name=args.collection)
    engine.load()
    if engine.status:
        print(f"citeqa ask: {engine.status}", file=sys.stderr)
        return 3
    result = engine.answer(args.question, access=EVERYTHING)  # the operator reads everything
    if args.json:
        print(json.dumps(answer(result).model_dump(), indent=2))
        return 0
    print(result.answer)
    if result.abstained:
        print(f"\n(reason: {result.reason})")
    for c in result.citations:
        print(f"\n[{c.id}] {c.title} ({c.document_id}, chars {c.start}-{c.end})\n    {c.text}")
    return 0


# gunicorn's keep-alive is also how long a connection may take to send its request; with
# CITEQA_KEEPALIVE=0 this limit stays and service/web/close_each.py closes connections instead.
READ_SECONDS = 2
WORKERS = {"gevent": "service.web.worker.GeventWorker",
           "gthread": "service.web.worker.ThreadWorker"}


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the API under gunicorn, a production WSGI server, beside an ingest worker."""
    from service.ingest.supervise import serve

    cfg = _config(args)
    env = dict(os.environ, CITEQA_DATA_DIR=str(cfg.data_dir))
    # one BLAS thread per worker, as one ONNX thread: the exact search over a large collection
    # took 2.39 ms of CPU on two threads against 2.07 ms on one (14,658 chunks, by hand)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
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
            "--keep-alive", str(cfg.keepalive or READ_SECONDS), "--timeout", "60",
            *([] if cfg.keepalive else ["--config", "python:service.web.close_each"]),
            "service.web.app:create_app()"]
    worker = [sys.executable, "-m", "service.cli", "worker"] if cfg.ingest_worker else None
    serve(argv, worker, env)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run an ingest worker: index uploads and site imports from the task queue."""
    from service.ingest.worker import run
    from service.ops.logs import configure_logging

    configure_logging()
    run(_config(args))
    return 0  # not reached: the worker runs until stopped


def cmd_feedback_export(args: argparse.Namespace) -> int:
    """Write stored feedback as JSONL eval cases (stdout, or `--output`)."""
    from service.web.feedback import FeedbackStore, export_jsonl

    store = FeedbackStore(args.db or _config(args).feedback_db)
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        out.writelines(export_jsonl(store, args.collection))
    finally:
        if args.output:
            out.close()
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an operator's test questions against the index; exit 1 if any fails."""
    from index.access import EVERYTHING
    from service.core.engine import Engine
    from service.core.evals import CaseError, read_cases, run, table

    try:
        with args.cases.open(encoding="utf-8") as lines:
            cases = read_cases(lines)
    except (OSError, CaseError) as exc:
        print(f"citeqa eval: {args.cases}: {exc}", file=sys.stderr)
        return 2
    engine = Engine(_config(args), name=args.collection)
    engine.load()
    if engine.status:
        print(f"citeqa eval: {engine.status}", file=sys.stderr)
        return 3
    # like `citeqa ask`, the operator's cases read everything in the collection
    results = run(cases, lambda question, history: engine.answer(question, history,
                                                                 access=EVERYTHING))
    print(table(results))
    return 0 if all(r.passed for r in results) else 1


def _count(value: str) -> int:
    """Parse a non-negative whole number."""
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return number


def parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    top = argparse.ArgumentParser(prog="citeqa", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="index folder (CITEQA_DATA_DIR)")
    named = argparse.ArgumentParser(add_help=False)
    named.add_argument("--collection", default="default",
                       help="knowledge base to use (default: `default`)")
    index = sub.add_parser("index", parents=[common, named],
                           help="index a corpus folder into a collection")
    index.add_argument("--corpus", type=Path, help="corpus folder (CITEQA_CORPUS_DIR)")
    index.add_argument("--rebuild", action="store_true",
                       help="build a new collection and switch serving processes to it")
    index.set_defaults(func=cmd_index)
    site = sub.add_parser("import", parents=[common, named],
                          help="import a web site (sitemap or links, within robots.txt)")
    site.add_argument("url", help="start page; only pages of its site are imported")
    site.add_argument("--max-pages", type=_count, help="most pages fetched "
                                                       "(CITEQA_IMPORT_MAX_PAGES)")
    site.add_argument("--max-depth", type=_count, help="most links followed from the start "
                                                       "page (CITEQA_IMPORT_MAX_DEPTH)")
    site.add_argument("--delay", type=float, help="seconds between requests "
                                                  "(CITEQA_IMPORT_DELAY)")
    site.add_argument("--groups", default="", help="comma-separated access groups of every "
                                                   "page (default: readable by all readers)")
    site.set_defaults(func=cmd_import)
    ask = sub.add_parser("ask", parents=[common, named], help="answer a question")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the API's JSON answer")
    ask.set_defaults(func=cmd_ask)
    serve = sub.add_parser("serve", parents=[common], help="serve the web API")
    serve.add_argument("--host", help="address to listen on (HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (WORKERS)")
    serve.add_argument("--threads", type=int, help="threads per worker (THREADS)")
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", parents=[common], help="run an ingest worker (uploads "
                                                             "and site imports); `serve` "
                                                             "starts one unless "
                                                             "CITEQA_INGEST_WORKER=false")
    worker.set_defaults(func=cmd_worker)
    evaluate = sub.add_parser("eval", parents=[common, named],
                              help="run test questions from a JSONL file (feedback export, "
                                   "`expect` phrases, `must_abstain`)")
    evaluate.add_argument("cases", type=Path, help="JSONL file of cases")
    evaluate.set_defaults(func=cmd_eval)
    feedback = sub.add_parser("feedback", help="work with readers' thumbs up/down")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", parents=[common], help="write feedback as JSONL")
    export.add_argument("--collection", help="only this collection's feedback")
    export.add_argument("--db", type=Path, help="feedback database (CITEQA_FEEDBACK_DB)")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.set_defaults(func=cmd_feedback_export)
    kbs = sub.add_parser("collections", help="list, create or delete collections")
    kb_actions = kbs.add_subparsers(dest="action", required=True)
    kb_actions.add_parser("list", parents=[common], help="print every collection's name")
    for verb in ("create", "delete"):
        act = kb_actions.add_parser(verb, parents=[common], help=f"{verb} a collection")
        act.add_argument("name")
    kbs.set_defaults(func=cmd_collections)
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
