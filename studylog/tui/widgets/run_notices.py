"""What the run area says about runs, as notices: the words for what became of snippets
asked to run, how a run ended, a batch's summary; and the notices themselves, each in its
slot (news, or a failure), so that a queue's notices replace each other rather than stack
over the output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from studylog.labels import duration_text, status_text
from studylog.safe_text import visible

if TYPE_CHECKING:
    from textual.app import App
    from textual.notifications import Notification, SeverityLevel

    from studylog.runner.events import RunFinished
    from studylog.runner.session import Enqueued, Queue


@dataclass(frozen=True)
class Notice:
    message: str
    title: str = ""
    severity: SeverityLevel = "information"


def enqueued_notice(outcome: Enqueued) -> Notice | None:
    """What to say of snippets asked for while a run goes (None: they start now)."""
    if outcome.starts:
        return None
    added = outcome.places("queued")
    where = outcome.places("queued already")
    refused = [p.why for p in outcome.placed if p.outcome == "refused"]
    if not added and not where and refused:
        return Notice("; ".join(refused), "Cannot run", "error")
    if not added:
        return Notice(
            f"Queued already (place {', '.join(map(str, where))}); x takes it out."
            if where
            else "It runs now; press r when it ends to run it again."
        )
    if len(added) == 1:
        return Notice(f"{visible(outcome.added[0].snippet)} queued ({outcome.waiting} waiting).")
    return Notice(f"{len(added)} snippets queued ({outcome.waiting} waiting).")


def ended_notice(finished: RunFinished) -> Notice:
    """How a run ended: its time when it succeeded, else how and why not."""
    name = visible(finished.snippet)
    if finished.status == "succeeded":
        return Notice(f"{name} succeeded in {duration_text(finished.duration)}")
    # A cancel ends the tree with a kill: that signal is how, not why.
    cancelled = finished.status == "cancelled"
    why = "" if cancelled else finished.last_error or finished.signal or ""
    return Notice(
        f"{name}: {status_text(finished.status)}. {visible(why)}".rstrip(),
        title="Run did not succeed",
        severity="warning" if cancelled else "error",
    )


def batch_summary(finished: list[RunFinished], dropped: Queue) -> str:
    """`3 succeeded, 1 cancelled, 25 not run` (the queue cleared)."""
    counts: dict[str, int] = {}
    for run in finished:
        counts[run.status] = counts.get(run.status, 0) + 1
    parts = [f"{n} {status_text(status)}" for status, n in counts.items()]
    if dropped:
        parts.append(f"{len(dropped)} not run (queue cleared)")
    return ", ".join(parts) or "nothing ran"


@dataclass
class RunNotices:
    """The run notices on screen, by slot: at most the latest news and the latest failure
    show (the batch's summary counts them all)."""

    shown: dict[str, Notification] = field(default_factory=dict)

    def show(self, app: App[Any], notice: Notice) -> None:
        """`notice`, in place of the one before it of the same slot while that one is still
        on screen."""
        from textual.notifications import Notification

        slot = "failure" if notice.severity in ("error", "warning") else "news"
        before = self.shown.get(slot)
        if before is not None and before in app._notifications:
            app._unnotify(before, refresh=False)
        shown = Notification(
            visible(notice.message),
            visible(notice.title),
            notice.severity,
            app.NOTIFICATION_TIMEOUT,
            markup=False,
        )
        self.shown[slot] = shown
        # Added here, in order, rather than posted (App.notify): a posted notice could land
        # after the next one has looked for it.
        app._notifications.add(shown)
        app._refresh_notifications()
