"""Generate the synthetic corpus the benchmarks use: 10,000 notes of about 5 KB, mixed Korean
and English, with front matter, header blocks, <details> sections and code fences.

    python benchmarks/corpus.py [--notes 10000] [--out benchmarks/.corpus]

Deterministic (seeded): the same command makes the same files.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

DEFAULT_OUT = Path(__file__).parent / ".corpus"

KO_WORDS = (
    "역전파를 학습을 기울기가 손실 함수 옵티마이저 데이터셋 데이터로더 텐서 모델을 "
    "경사하강법 모멘텀 정규화 과적합 일반화 배치 에폭 파라미터 가중치를 초기화 "
    "활성화 함수 연쇄 법칙 미분 계산 그래프 레이어 신경망 합성곱 순환 어텐션 "
    "트랜스포머 임베딩 토큰 학습률 스케줄러 검증 테스트 정확도 평가 실험 결과 "
    "공부했다 정리한다 이해했다 헷갈린다 다시 보자 중요하다 예제 코드 실행 확인"
).split()
EN_WORDS = (
    "gradient loss optimizer tensor module parameter backward forward batch epoch "
    "learning rate momentum adam sgd dataset dataloader transform normalize model "
    "layer activation relu sigmoid softmax cross entropy regularization dropout "
    "weight decay convolution attention embedding token validation accuracy the a "
    "of to and in is for with that this we it on as by"
).split()
TOPICS = ["Pytorch", "Deep Learning Basics", "Computer Vision", "NLP", "Math for AI"]
LECTURES = [
    "AutoGrad & Optimizer",
    "Dataset & DataLoader",
    "Tensor 다루기",
    "nn.Module",
    "Optimization",
    "Regularization",
    "CNN",
    "RNN",
    "Transformer",
    "확률론",
]
CODE = """```python
import torch
x = torch.randn(8, 3, requires_grad=True)
loss = (x ** 2).sum()
loss.backward()
print(x.grad.shape)  # {n}
```
"""


def _sentence(rng: random.Random) -> str:
    words = rng.choices(KO_WORDS if rng.random() < 0.6 else EN_WORDS, k=rng.randint(6, 14))
    return " ".join(words) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6))) + "\n"


def make_note(i: int, rng: random.Random, target_bytes: int = 5000) -> str:
    year, month, day = 2021 + i % 3, 1 + i % 12, 1 + i % 28
    topic = rng.choice(TOPICS)
    first = rng.randrange(1, 10)
    style = i % 3
    parts: list[str] = []
    if style == 0:
        parts.append(
            f"---\ntitle: 노트 {i} {rng.choice(LECTURES)}\ndate: {year}-{month:02d}-{day:02d}\n"
            f"course: {topic}\nlecture: [{first}, {first + 1}]\ntags: [pytorch, study{i % 50}]\n---\n"
        )
    elif style == 1:
        parts.append(
            '<details>\n<summary>강의 정보</summary>\n<div markdown="1">\n\n'
            f">Date : {year % 100:02d}.{month:02d}.{day:02d}\n>\n>강좌 분류 : {topic}\n>\n"
            f">>강좌 번호 : {first}\n>>\n>>제목 : {LECTURES[first % len(LECTURES)]}\n>\n"
            f">>강좌 번호 : {first + 1}\n>>\n>>제목 : {LECTURES[(first + 1) % len(LECTURES)]}\n\n"
            "</div>\n</details>\n\n"
        )
    parts.append(f"# Note {i}: {rng.choice(LECTURES)}\n\n")
    section = 0
    while sum(len(p.encode()) for p in parts) < target_bytes:
        section += 1
        if section % 2:
            parts.append(
                f"<details>\n<summary>{section}. {rng.choice(LECTURES)}</summary>\n"
                f'<div markdown="1">\n\n## {rng.choice(KO_WORDS)} {section}\n\n{_paragraph(rng)}\n'
                f"{CODE.format(n=i)}\n- [ ] {_sentence(rng)}\n\n</div>\n</details>\n\n"
            )
        else:
            parts.append(
                f"## {rng.choice(EN_WORDS)} {section}\n\n{_paragraph(rng)}\n{_paragraph(rng)}\n"
            )
    return "".join(parts)


def note_path(i: int) -> str:
    if i % 3 == 2:  # the date-in-file-name style
        return f"{2021 + i % 3}/{i % 100:02d}/{2021 + i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}-note-{i}.md"
    return f"{2021 + i % 3}/{i % 100:02d}/note-{i}.md"


def generate(out: Path, count: int, seed: int = 0) -> Path:
    """Write `count` notes under out/notes (replacing an earlier corpus) and return out."""
    if out.exists():
        shutil.rmtree(out)
    notes = out / "notes"
    rng = random.Random(seed)
    for i in range(count):
        path = notes / note_path(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_note(i, rng), encoding="utf-8")
    return out


def ensure(out: Path = DEFAULT_OUT, count: int = 10_000) -> Path:
    """The corpus at `out`, generated when missing or of another size."""
    marker = out / f".complete-{count}"
    if not marker.exists():
        generate(out, count)
        marker.touch()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    root = generate(args.out, args.notes)
    (root / f".complete-{args.notes}").touch()
    size = sum(p.stat().st_size for p in (root / "notes").rglob("*.md"))
    print(f"{args.notes} notes, {size / 1e6:.1f} MB in {root / 'notes'}")
