"""``tiny-lm``: a character-level causal Transformer language model on offline text.

The pieces (no :class:`Task` here: the lab wraps them):

- the **text**, from one of two sources, both on every machine without a download:

  - ``"generated"`` (the default): a procedurally generated English-like corpus,
    :func:`generated_text`. Short sentences from a fixed grammar and word list, with
    subject-verb agreement, counts, questions with answers, quoted speech and
    two-digit sums (``"17 plus 25 is 42."``), so a model can learn spelling, grammar
    and a little arithmetic, and the text never runs out of fresh sentences. The
    random choices come from our own SplitMix64 generator (integer arithmetic,
    no ``random`` or numpy streams), so the text is the same, byte for byte, on
    every Python (3.10-3.13 and later) and every numpy: comparisons run on
    different machines see the same data.
  - ``"stdlib"``: the Python standard library's own source, :func:`stdlib_text`:
    the modules of :data:`STDLIB_MODULES`, read in that order (found with
    ``importlib.util.find_spec``) and joined by blank lines. Real text, but
    **it changes with the Python version**: a release that edits ``textwrap.py``
    changes the data, and so the numbers. Builds without ``.py`` sources (embedded
    or frozen Pythons) cannot use it at all. Hence it is not the default.

  Both record :func:`text_fingerprint` (SHA-256 of the text), so two runs can tell
  whether they trained on the same data.
- a fixed **character vocabulary**: :data:`VOCAB` (newline and the 95 printable
  ASCII characters), id ``i + 1`` for ``VOCAB[i]``, and id :data:`UNKNOWN_ID` ``= 0``
  for any other character (tabs, non-ASCII); :data:`VOCAB_SIZE` ``= 97``.
- **splits by contiguous blocks**: the text is cut into disjoint blocks of
  ``block_windows`` windows (``block_windows * context + 1`` characters each); a
  seeded shuffle deals whole blocks to train, val and test, so no character is
  shared between two splits. Each window is a pair ``(x, y)`` of LongTensors of
  shape ``[context]`` with ``y[t] = x[t + 1]``.
- the **model**: token and position embeddings, ``layers`` pre-norm
  ``torch.nn.TransformerEncoderLayer`` blocks (GELU, no dropout) with a causal mask,
  a final LayerNorm and a linear head; ``forward(x)`` maps ``[B, T]`` ids to
  ``[B, T, V]`` logits.
- the **loss** :func:`lm_loss`: mean token cross-entropy; perplexity is
  ``exp(mean token loss)``, :func:`perplexity`.

One epoch is ``train_sequences`` windows (1,024 by default: 65,536 tokens).

torch is imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = [
    "STDLIB_MODULES",
    "UNKNOWN_ID",
    "VOCAB",
    "VOCAB_SIZE",
    "TinyLMParts",
    "decode",
    "encode",
    "generated_text",
    "lm_loss",
    "make_tiny_lm",
    "perplexity",
    "stdlib_text",
    "text_fingerprint",
    "tiny_lm_model",
]

VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
"""The characters with an id of their own: newline, then printable ASCII (space to ``~``)."""

UNKNOWN_ID = 0
"""The id of every character outside :data:`VOCAB`."""

VOCAB_SIZE = len(VOCAB) + 1
"""Number of ids: one per character of :data:`VOCAB`, plus :data:`UNKNOWN_ID`."""

STDLIB_MODULES = (
    "textwrap",
    "string",
    "fractions",
    "bisect",
    "heapq",
    "shlex",
    "fnmatch",
    "colorsys",
    "calendar",
    "statistics",
)
"""Standard-library modules read, in this order, by :func:`stdlib_text`.

All are pure Python in CPython 3.10-3.13; their text differs between versions.
"""

_LOOKUP = np.zeros(128, dtype=np.int64)
_LOOKUP[[ord(c) for c in VOCAB]] = np.arange(1, VOCAB_SIZE)


def encode(text: str) -> np.ndarray:
    """Map each character to its id (:data:`UNKNOWN_ID` outside :data:`VOCAB`).

    Example:
        >>> encode("hi\\t!").tolist()
        [74, 75, 0, 3]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    ids = np.zeros(len(codes), dtype=np.int64)
    ascii_ = codes < 128
    ids[ascii_] = _LOOKUP[codes[ascii_]]
    return ids


def decode(ids: Sequence[int] | np.ndarray) -> str:
    """The text of ``ids``; :data:`UNKNOWN_ID` reads as ``"\\ufffd"``.

    Example:
        >>> decode(encode("a\\tb"))
        'a\\ufffdb'
    """
    table = "\ufffd" + VOCAB
    out = []
    for i in np.asarray(ids, dtype=np.int64).ravel().tolist():
        if not 0 <= i < VOCAB_SIZE:
            raise ValueError(f"ids must be in [0, {VOCAB_SIZE}), got {i}")
        out.append(table[i])
    return "".join(out)


def text_fingerprint(text: str) -> str:
    """SHA-256 (hex, first 16 digits) of the UTF-8 text: equal text, equal fingerprint."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# -- the generated corpus -----------------------------------------------------------

_MASK64 = (1 << 64) - 1


class _SplitMix64:
    """SplitMix64 (Steele, Lea & Flood 2014): pure integer arithmetic, same on every Python."""

    def __init__(self, seed: int) -> None:
        self.state = (int(seed) * 0x2545F4914F6CDD1D + 0x1234567) & _MASK64

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n  # a bias below 2**-50 for our n: irrelevant here

    def pick(self, items: Sequence[str]) -> str:
        return items[self.below(len(items))]

    def shuffled(self, n: int) -> list[int]:
        order = list(range(n))
        for i in range(n - 1, 0, -1):  # Fisher-Yates
            j = self.below(i + 1)
            order[i], order[j] = order[j], order[i]
        return order


_NOUNS = (
    "cat", "dog", "bird", "frog", "horse", "goat", "duck", "lamb", "rabbit", "owl",
    "farmer", "baker", "sailor", "doctor", "teacher", "robot", "king", "queen",
)  # fmt: skip
_ADJECTIVES = (
    "small", "big", "old", "young", "red", "green", "happy", "sleepy", "quiet",
    "brave", "clever", "lazy", "hungry", "tired",
)  # fmt: skip
_VERBS = (
    "see", "like", "follow", "find", "help", "call", "meet", "chase", "want", "keep",
    "hear", "visit",
)  # fmt: skip
_PLACES = (
    "garden", "forest", "kitchen", "market", "river", "village", "castle", "field",
    "harbour", "library",
)  # fmt: skip
_NAMES = ("Anna", "Ben", "Clara", "David", "Emma", "Felix", "Grace", "Hugo", "Iris", "Jack")
_GREETINGS = ("Good morning", "Hello", "Come here", "Look at that", "Not again", "Thank you")


def _noun_phrase(rng: _SplitMix64, plural: bool) -> str:
    adjective = rng.pick(_ADJECTIVES) + " " if rng.below(2) else ""
    return f"the {adjective}{rng.pick(_NOUNS)}{'s' if plural else ''}"


def _sentence(rng: _SplitMix64) -> str:
    kind = rng.below(6)
    if kind == 0:  # subject-verb agreement
        plural = bool(rng.below(2))
        verb = rng.pick(_VERBS) + ("" if plural else "s")
        return f"{_noun_phrase(rng, plural)} {verb} {_noun_phrase(rng, bool(rng.below(2)))}."
    if kind == 1:  # counting, with agreement
        count = 1 + rng.below(12)
        noun, place = rng.pick(_NOUNS), rng.pick(_PLACES)
        if count == 1:
            return f"there is one {noun} in the {place}."
        return f"there are {count} {noun}s in the {place}."
    if kind == 2:  # arithmetic: the answer follows from the question
        a, b = rng.below(50), rng.below(50)
        return f"{a} plus {b} is {a + b}."
    if kind == 3:  # a question and its answer
        answer = "Yes, it is." if rng.below(2) else "No, it is not."
        return f"is {_noun_phrase(rng, False)} {rng.pick(_ADJECTIVES)}? {answer}"
    if kind == 4:  # quoted speech
        return f'"{rng.pick(_GREETINGS)}," said {rng.pick(_NAMES)}.'
    return f"{rng.pick(_NAMES)} went to the {rng.pick(_PLACES)} with {_noun_phrase(rng, False)}."


def generated_text(num_chars: int, *, seed: int = 0) -> str:
    """A procedurally generated English-like text of exactly ``num_chars`` characters.

    Paragraphs of 2-6 sentences, each ending with a newline; every choice comes from
    SplitMix64 seeded by ``seed``, so the text depends on ``(num_chars, seed)`` only,
    never on the Python or numpy version. All characters are in :data:`VOCAB`.

    Raises:
        ValueError: ``num_chars`` is not a positive int.

    Example:
        >>> generated_text(40, seed=0)
        '25 plus 43 is 68. The ducks chase the fr'
    """
    _check_positive_int("num_chars", num_chars)
    rng = _SplitMix64(seed)
    parts: list[str] = []
    length = 0
    while length < num_chars:
        sentences = [_sentence(rng) for _ in range(2 + rng.below(5))]
        paragraph = " ".join(s[0].upper() + s[1:] for s in sentences) + "\n"
        parts.append(paragraph)
        length += len(paragraph)
    return "".join(parts)[:num_chars]


def stdlib_text(modules: Sequence[str] = STDLIB_MODULES) -> str:
    """The source of ``modules`` (default :data:`STDLIB_MODULES`), in order, joined by blank lines.

    The text is this interpreter's: another Python version may give other text
    (compare :func:`text_fingerprint`).

    Raises:
        ValueError: a module has no ``.py`` source file (built-in, frozen, or a build
            shipped without sources).
    """
    texts = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = None if spec is None else spec.origin
        if origin is None or not origin.endswith(".py"):
            raise ValueError(f"module {name!r} has no .py source here (found {origin!r})")
        with open(origin, encoding="utf-8") as fh:
            texts.append(fh.read())
    return "\n\n".join(texts)


# -- splits -------------------------------------------------------------------------


def _split_windows(
    ids: np.ndarray, context: int, counts: tuple[int, int, int], block_windows: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Deal whole blocks to train/val/test in a seeded order; cut each block into windows."""
    block_len = block_windows * context + 1
    blocks_needed = [math.ceil(n / block_windows) for n in counts]
    total_blocks = len(ids) // block_len
    if total_blocks < sum(blocks_needed):
        raise ValueError(
            f"text of {len(ids)} characters holds {total_blocks} blocks of {block_len}; "
            f"{sum(blocks_needed)} are needed for {counts} windows"
        )
    order = _SplitMix64(seed + 0x5EED).shuffled(total_blocks)
    offsets = np.arange(block_windows) * context
    out, first = [], 0
    for n, nblocks in zip(counts, blocks_needed, strict=True):
        starts = np.concatenate(
            [block * block_len + offsets for block in sorted(order[first : first + nblocks])]
        )[:n]
        first += nblocks
        windows = ids[starts[:, None] + np.arange(context + 1)]
        out.append((windows[:, :-1], windows[:, 1:]))
    return out


# -- model, loss, metric ------------------------------------------------------------


@functools.cache
def _causal_lm_class() -> type:
    import torch
    from torch import nn

    class CausalLM(nn.Module):
        """Embeddings, pre-norm Transformer blocks with a causal mask, LayerNorm, head."""

        def __init__(
            self, vocab_size: int, context: int, width: int, layers: int, heads: int
        ) -> None:
            super().__init__()
            self.context = context
            self.token = nn.Embedding(vocab_size, width)
            self.position = nn.Embedding(context, width)
            nn.init.normal_(self.token.weight, std=0.02)  # GPT-2's scale, not N(0, 1)
            nn.init.normal_(self.position.weight, std=0.02)
            self.blocks = nn.ModuleList(  # built one by one: independent initial weights
                nn.TransformerEncoderLayer(
                    width,
                    heads,
                    dim_feedforward=4 * width,
                    dropout=0.0,
                    activation="gelu",
                    batch_first=True,
                    norm_first=True,
                )
                for _ in range(layers)
            )
            self.norm = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab_size)
            mask = nn.Transformer.generate_square_subsequent_mask(context)
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            length = x.shape[-1]
            if length > self.context:
                raise ValueError(f"input length {length} exceeds the context {self.context}")
            h = self.token(x) + self.position(torch.arange(length, device=x.device))
            mask = self.get_buffer("mask")[:length, :length]
            for block in self.blocks:
                h = block(h, src_mask=mask, is_causal=True)
            return self.head(self.norm(h))

    # pickle finds the class by name through the module's __getattr__ below
    CausalLM.__name__ = CausalLM.__qualname__ = "_CausalLM"
    CausalLM.__module__ = __name__
    return CausalLM


def __getattr__(name: str) -> Any:
    # PEP 562: the model class is built on first use (torch stays unimported until then)
    if name == "_CausalLM":
        return _causal_lm_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tiny_lm_model(
    vocab_size: int = VOCAB_SIZE,
    *,
    context: int = 64,
    width: int = 64,
    layers: int = 2,
    heads: int = 4,
    seed: int | None = None,
) -> torch.nn.Module:
    """A fresh causal Transformer LM: ``forward(x)`` maps ``[B, T]`` ids to ``[B, T, V]`` logits.

    Args:
        vocab_size: number of token ids ``V``.
        context: longest input ``T`` (learned position embeddings).
        width: model width; the feed-forward layers are ``4 * width`` wide.
        layers, heads: Transformer blocks and attention heads (``heads`` divides ``width``).
        seed: initialise from ``torch.manual_seed(seed)`` inside a forked RNG (the global
            RNG is left as it was); ``None`` draws from torch's global RNG, which the
            lab's trainer seeds.

    Raises:
        ValueError: a size is not a positive int, or ``heads`` does not divide ``width``.

    Example:
        >>> import torch
        >>> model = tiny_lm_model(seed=0)
        >>> model(torch.zeros(3, 10, dtype=torch.long)).shape
        torch.Size([3, 10, 97])
        >>> sum(p.numel() for p in model.parameters())
        116705
    """
    import torch

    _check_model_args(vocab_size, context, width, layers, heads)
    cls = _causal_lm_class()
    if seed is None:
        return cls(vocab_size, context, width, layers, heads)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(vocab_size, context, width, layers, heads)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over every token: logits ``[..., V]``, targets ``[...]`` (ids).

    Flattens both, so the lab's default ``loss_fn(model(x), y)`` works on ``[B, T, V]``
    logits and ``[B, T]`` targets. ``exp`` of it is the perplexity.

    Raises:
        ValueError: the shapes do not match.

    Example:
        >>> import torch
        >>> round(float(lm_loss(torch.zeros(2, 5, 97), torch.ones(2, 5, dtype=torch.long))), 4)
        4.5747
    """
    import torch.nn.functional as F

    if tuple(logits.shape[:-1]) != tuple(targets.shape):
        raise ValueError(
            f"logits [..., V] must match targets [...], got {tuple(logits.shape)} "
            f"and {tuple(targets.shape)}"
        )
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def perplexity(model: torch.nn.Module, dataset: Any, *, batch_size: int = 128) -> float:
    """``exp(mean token cross-entropy)`` of ``model`` over ``dataset`` (eval mode, no grad).

    ``dataset`` is sliceable, as a ``TensorDataset``: ``dataset[a:b]`` gives ``(x, y)``.

    Every window has the same length, so the mean over batches weighted by their size
    is the mean over tokens.
    """
    import torch

    _check_positive_int("batch_size", batch_size)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                x, y = dataset[start : start + batch_size]
                total += float(lm_loss(model(x), y)) * y.numel()
                count += y.numel()
    finally:
        model.train(was_training)
    return math.exp(total / count)


# -- the factory --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TinyLMParts:
    """What :func:`make_tiny_lm` builds; the field names follow the lab's ``Task``.

    Attributes:
        train_set, val_set, test_set: ``TensorDataset`` of ``(x, y)``, each ``[context]``.
        model_fn: builds a fresh model from torch's global RNG.
        loss_fn: :func:`lm_loss`.
        vocab_size, context: ``V`` and ``T``.
        source: ``"generated"`` or ``"stdlib"``.
        fingerprint: :func:`text_fingerprint` of the text the windows were cut from.
        description: one line for reports.
    """

    train_set: Any
    val_set: Any
    test_set: Any
    model_fn: Callable[[], torch.nn.Module]
    loss_fn: Callable[[Any, Any], Any]
    vocab_size: int
    context: int
    source: str
    fingerprint: str
    description: str


def make_tiny_lm(
    *,
    seed: int = 0,
    source: str = "generated",
    context: int = 64,
    train_sequences: int = 1024,
    val_sequences: int = 128,
    test_sequences: int = 128,
    block_windows: int = 8,
    width: int = 64,
    layers: int = 2,
    heads: int = 4,
) -> TinyLMParts:
    """Build the ``tiny-lm`` data, model factory and loss.

    Args:
        seed: the generated text (``source="generated"``) and the deal of blocks to
            the splits; the model's initial weights come from torch's global RNG.
        source: ``"generated"`` (:func:`generated_text`, the same on every Python) or
            ``"stdlib"`` (:func:`stdlib_text`, this Python's sources).
        context: window length ``T``.
        train_sequences, val_sequences, test_sequences: windows per split; an epoch
            is ``train_sequences`` windows.
        block_windows: windows per contiguous block (the unit dealt to a split).
        width, layers, heads: the model (:func:`tiny_lm_model`).

    Returns:
        A :class:`TinyLMParts`.

    Raises:
        ValueError: unknown ``source``, a size that is not a positive int, or stdlib
            sources too short or missing.

    Example:
        >>> parts = make_tiny_lm(seed=0)
        >>> len(parts.train_set), len(parts.val_set), len(parts.test_set)
        (1024, 128, 128)
        >>> x, y = parts.train_set[0]
        >>> tuple(x.shape), bool((x[1:] == y[:-1]).all())
        ((64,), True)
    """
    import torch

    if source not in ("generated", "stdlib"):
        raise ValueError(f"source must be 'generated' or 'stdlib', got {source!r}")
    for name, value in (
        ("context", context),
        ("train_sequences", train_sequences),
        ("val_sequences", val_sequences),
        ("test_sequences", test_sequences),
        ("block_windows", block_windows),
    ):
        _check_positive_int(name, value)
    counts = (train_sequences, val_sequences, test_sequences)
    block_len = block_windows * context + 1
    blocks = sum(math.ceil(n / block_windows) for n in counts)
    text = generated_text(blocks * block_len, seed=seed) if source == "generated" else stdlib_text()
    ids = encode(text)
    splits = [
        torch.utils.data.TensorDataset(torch.from_numpy(x.copy()), torch.from_numpy(y.copy()))
        for x, y in _split_windows(ids, context, counts, block_windows, seed)
    ]
    model_fn = functools.partial(
        tiny_lm_model, VOCAB_SIZE, context=context, width=width, layers=layers, heads=heads
    )
    _check_model_args(VOCAB_SIZE, context, width, layers, heads)
    fingerprint = text_fingerprint(text)
    return TinyLMParts(
        train_set=splits[0],
        val_set=splits[1],
        test_set=splits[2],
        model_fn=model_fn,
        loss_fn=lm_loss,
        vocab_size=VOCAB_SIZE,
        context=context,
        source=source,
        fingerprint=fingerprint,
        description=(
            f"character LM on {source} text (sha256 {fingerprint}), "
            f"{train_sequences}/{val_sequences}/{test_sequences} windows of {context}, "
            f"Transformer {layers}x{width}"
        ),
    )


def _check_model_args(vocab_size: int, context: int, width: int, layers: int, heads: int) -> None:
    for name, value in (
        ("vocab_size", vocab_size),
        ("context", context),
        ("width", width),
        ("layers", layers),
        ("heads", heads),
    ):
        _check_positive_int(name, value)
    if width % heads:
        raise ValueError(f"heads must divide width, got heads={heads}, width={width}")


def _check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value!r}")
