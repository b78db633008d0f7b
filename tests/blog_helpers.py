"""Notes in the shapes real ones have, for the tests of notes where they already are
(test_real_notes*.py): a small Jekyll blog, a folder-structured notes repo, a tiny PNG, the
CLI run in-process, and one note exported."""

from __future__ import annotations

import base64
from pathlib import Path

from click.testing import CliRunner, Result

from studylog.cli import cli

POSTS = {
    "2022-01-06-segmentation.md": """---
layout: post
title: "[부스트캠프] 대회 개요와 Segmentation"
date: 2022-01-06 10:00:00 +0900
categories:
  - [AI, BoostCamp]
tags:
  - [Segmentation, CV]
  -
  - []
toc: true
---

목차

- [대회 개요](#대회-개요)
- [Data Loader](#data-loader)

## 대회 개요

대회의 목표는 semantic segmentation입니다. :book:
{: .notice--info}

![structure](/assets/img/seg.png)
![liquid]({{ site.baseurl }}/assets/img/seg.png)
![filter]({{ "/assets/img/seg.png" | relative_url }})

## Data Loader

The loss is $L = -\\sum_i y_i \\log p_i$ and

$$
\\frac{a}{b}
$$

- [x] 데이터 확인
- [ ] 모델 학습
""",
    "2023-01-06-year-typo.md": """---
title: Year typo
date: 2022-01-06
tags: pytorch  autograd
categories: [DL]
---

# Year typo

body
""",
    "2022-02-01-strange-tags.md": """---
title: Strange tags
date: 2022-02-01
tags:
  - 3
  - 2022-02-01
  - {nested: {map: 1}}
  - null
  - [[deep, [deeper]]]
---

body
""",
}


def make_blog(root: Path) -> Path:
    """A small Jekyll site: _config.yml, _posts/, assets/."""
    (root / "_posts").mkdir(parents=True)
    (root / "_config.yml").write_text("title: my blog\nbaseurl: /blog\n", encoding="utf-8")
    (root / "assets" / "img").mkdir(parents=True)
    (root / "assets" / "img" / "seg.png").write_bytes(png())
    for name, text in POSTS.items():
        (root / "_posts" / name).write_text(text, encoding="utf-8")
    return root


def make_notes_repo(root: Path) -> Path:
    """A repository of notes in folders, no front matter, no header block."""
    files = {
        "03_PyTorch/md/04_AutoGrad_Optimizer.md": "# AutoGrad & Optimizer\n\nbackward()\n",
        "03_PyTorch/md/02_Tensor_Basics.md": "텐서 기초 정리\n\n내용\n",
        "Week_5/Day_24/02. LSTM and GRU.md": "no heading here, only a long first line of text "
        "that goes on well past what any title would be, so the file name is used.\n",
        "Week_5/Day_24/01. RNN Basics.md": "## RNN\n\ntext\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def png() -> bytes:
    """A 1x1 PNG."""
    return base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
    )


def blog_cli(*args: str, ok: bool = True) -> Result:
    """studylog with these arguments, in-process; asserts it succeeded unless `ok` is False."""
    result = CliRunner().invoke(cli, list(args))
    if ok:
        assert result.exit_code == 0, result.output + result.stderr
    return result


def export_page(
    root: Path, note: str, fmt: str, out: Path, pattern: str | None = None
) -> tuple[Path, Result]:
    """Export one note of the workspace at `root` to `out`: the one page written (named like
    `pattern`, else `*{note}.{fmt}`) and the command's result."""
    result = blog_cli("-w", str(root), "export", note, "--format", fmt, "--out", str(out))
    (page,) = out.rglob(pattern or f"*{note}.{fmt}")
    return page, result
