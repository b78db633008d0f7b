"""A note line as the view draws it: one pass (note_lines._styled) makes what Textual's
`apply_style`, `crop_extend` and `apply_offsets` make together, segment for segment, so
the widget's colours, the padding to the view's width and the offsets that text
selection reads stay as they were."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from studylog.tui.widgets.note_lines import _styled

_STYLES = st.sampled_from(
    [None, Style(bold=True), Style(color="red", bgcolor="#272822"), Style(italic=True)]
)
_SEGMENTS = st.lists(
    st.builds(Segment, st.text(st.sampled_from(list("ab 가나\t·")), max_size=12), _STYLES),
    max_size=6,
)


@given(
    segments=_SEGMENTS,
    view=st.sampled_from([Style(color="white", bgcolor="black"), Style(bgcolor="#1e1e1e")]),
    extra=st.integers(min_value=0, max_value=20),
    y=st.integers(min_value=0, max_value=5000),
)
def test_a_line_is_drawn_as_textual_draws_it(
    segments: list[Segment], view: Style, extra: int, y: int
) -> None:
    line = Strip(segments)
    width = line.cell_length + extra
    expected = line.apply_style(view).crop_extend(0, width, view).apply_offsets(0, y)
    drawn = _styled(line, view, width, y)
    assert list(drawn) == list(expected)
    assert drawn.cell_length == expected.cell_length == width
