"""A labelled search corpus: notes in the shapes real study notes take (long lecture notes
titled by their subject, short day indexes that mention everything once, code notes full of
identifiers), and queries each with the note a reader expects first. Used by the ranking
test (tests/test_real_notes2.py) and the ranking figure (benchmarks/bench_search.py)."""

from __future__ import annotations

# Lecture-note filler: long bodies about nothing in particular, as real lecture notes have
# around the few paragraphs on their subject.
_FILLER = (
    "이번 강의에서는 지난 시간의 내용을 복습하고 실습 코드를 함께 살펴본다. "
    "The lecture walks through the slides, the homework and the questions students asked. "
)


def _lecture(title: str, subject: str, mentions: int, filler: int = 60) -> str:
    paragraphs = [f"# {title}\n"]
    for i in range(filler):
        paragraphs.append(_FILLER)
        if i % max(1, filler // mentions) == 0:
            paragraphs.append(subject)
    return "\n\n".join(paragraphs) + "\n"


NOTES: dict[str, str] = {
    "week5/day24/beam-search-bleu.md": _lecture(
        "Beam Search and BLEU score",
        "Beam search keeps the k best partial sentences; BLEU compares n-grams with references.",
        6,
    ),
    "week5/day24/index.md": (
        "# Day 24\n\nToday: LSTM review, beam search, BLEU, attention, GRU, seq2seq.\n"
    ),
    "week5/day23/lstm-gru.md": _lecture(
        "LSTM and GRU",
        "An LSTM cell has input, forget and output gates; a GRU merges them into two gates.",
        8,
    ),
    "week5/day23/index.md": "# Day 23\n\nLSTM, GRU, RNN, vanishing gradient, Transformer.\n",
    "week5/day25/transformer.md": _lecture(
        "Transformer",
        "Self-attention lets every token look at every other; the Transformer stacks it.",
        8,
    ),
    "week5/day25/swin.md": _lecture(
        "SwinTransformer for vision",
        "SwinTransformer computes attention in shifted windows over image patches.",
        5,
    ),
    "pytorch/dataloader.md": _lecture(
        "Datasets and DataLoader",
        "A DataLoader batches a Dataset: DataLoader(dataset, batch_size=32, shuffle=True).",
        8,
    ),
    "pytorch/autograd.md": _lecture(
        "AutoGrad and Optimizer",
        "Call optimizer.zero_grad() before loss.backward(); then optimizer.step().",
        8,
    ),
    "pytorch/adam.md": _lecture(
        "Adam optimizer",
        "Adam keeps running means of the gradient and of its square; AdamW decouples decay.",
        8,
    ),
    "math/hadamard.md": _lecture(
        "Hadamard product",
        "The Hadamard product multiplies matrices element by element.",
        8,
    ),
    "pytorch/index.md": (
        "# PyTorch week\n\nDataLoader, zero_grad, Adam, AutoGrad, nn.Module, backward, "
        "tensor, CrossEntropyLoss, BatchNorm.\n"
    ),
    "pytorch/module.md": _lecture(
        "Writing an nn.Module",
        "Subclass nn.Module, define __init__ and forward; parameters register themselves.",
        8,
    ),
    "pytorch/loss.md": _lecture(
        "Loss functions",
        "CrossEntropyLoss takes logits; MSELoss for regression; NLLLoss takes log-probs.",
        8,
    ),
    "pytorch/batchnorm.md": _lecture(
        "BatchNorm and LayerNorm",
        "BatchNorm normalises over the batch; LayerNorm over the features of one sample.",
        8,
    ),
    "ml/backprop.md": _lecture(
        "역전파 (Backpropagation)",
        "역전파는 연쇄 법칙으로 기울기를 출력에서 입력 쪽으로 전달한다.",
        8,
    ),
    "ml/gradient-descent.md": _lecture(
        "경사하강법",
        "경사하강법은 손실의 기울기 반대 방향으로 가중치를 옮긴다. learning rate 가 보폭이다.",
        8,
    ),
    "ml/index.md": "# 머신러닝 정리\n\n역전파, 경사하강법, 과적합, 정규화, 드롭아웃.\n",
    "ml/overfitting.md": _lecture(
        "과적합과 정규화",
        "과적합은 학습 데이터에만 맞는 것. 정규화와 드롭아웃이 이를 줄인다. dropout, weight decay.",
        8,
    ),
    "ml/dropout.md": _lecture(
        "Dropout",
        "Dropout zeroes activations at random during training and scales the rest.",
        8,
    ),
    "cv/segmentation.md": _lecture(
        "Semantic Segmentation",
        "FCN and UNet label every pixel; segmentation maps come from upsampling.",
        8,
    ),
    "cv/index.md": "# CV week\n\nSegmentation, detection, UNet, YOLO, SwinTransformer.\n",
    "cv/detection.md": _lecture(
        "Object Detection",
        "YOLO predicts boxes in one pass; Faster R-CNN proposes regions first.",
        8,
    ),
    "nlp/attention.md": _lecture(
        "Attention",
        "Attention weights the encoder states by their match with the decoder state.",
        8,
    ),
    "nlp/seq2seq.md": _lecture(
        "Seq2Seq",
        "Seq2Seq encodes a sentence to a vector and decodes another sentence from it.",
        8,
    ),
    # A long week summary that says everything many times in passing: counting
    # occurrences puts it first for every word it repeats.
    "nlp/week-summary.md": _lecture(
        "NLP week summary",
        "We revisited attention, attention masks and attention heads; seq2seq with attention; "
        "the Transformer is attention only; questions on the homework.",
        30,
        filler=120,
    ),
    "tools/http.md": _lecture(
        "Serving a model",
        "Wrap the model in an HTTPServer or FastAPI; load_state_dict once at start.",
        8,
    ),
}

# (query, the note a reader expects first)
QUERIES: list[tuple[str, str]] = [
    ("BLEU", "week5/day24/beam-search-bleu.md"),
    ("beam search", "week5/day24/beam-search-bleu.md"),
    ("LSTM", "week5/day23/lstm-gru.md"),
    ("GRU", "week5/day23/lstm-gru.md"),
    ("Transformer", "week5/day25/transformer.md"),
    ("Swin", "week5/day25/swin.md"),
    ("loader", "pytorch/dataloader.md"),
    ("DataLoader", "pytorch/dataloader.md"),
    ("grad", "pytorch/autograd.md"),
    ("zero_grad", "pytorch/autograd.md"),
    ("adam", "pytorch/adam.md"),
    ("Hadamard", "math/hadamard.md"),
    ("Module", "pytorch/module.md"),
    ("CrossEntropy", "pytorch/loss.md"),
    ("LayerNorm", "pytorch/batchnorm.md"),
    ("역전파", "ml/backprop.md"),
    ("경사하강법", "ml/gradient-descent.md"),
    ("과적합", "ml/overfitting.md"),
    ("dropout", "ml/dropout.md"),
    ("segmentation", "cv/segmentation.md"),
    ("YOLO", "cv/detection.md"),
    ("attention", "nlp/attention.md"),
    ("seq2seq", "nlp/seq2seq.md"),
    ("server", "tools/http.md"),
    ("state_dict", "tools/http.md"),
]


def precision_at_1_and_mrr(ranked: dict[str, list[str]]) -> tuple[float, float]:
    """Precision@1 and mean reciprocal rank of `ranked` (query → paths, best first)."""
    firsts = reciprocal = 0.0
    for query, expected in QUERIES:
        paths = ranked.get(query, [])
        if paths[:1] == [expected]:
            firsts += 1
        if expected in paths:
            reciprocal += 1 / (paths.index(expected) + 1)
    return firsts / len(QUERIES), reciprocal / len(QUERIES)
