"""plot_history(): each batch's life, from the audit trail, drawn with matplotlib.

matplotlib is imported when plot_history() is called (Debian:
python3-matplotlib). The figure is a plain ``matplotlib.figure.Figure`` with
an Agg canvas: no pyplot, so no backend is chosen and no window opens; Jupyter
shows it as a PNG (the last expression of a cell, or ``display(fig)``), and
``fig.savefig("history.png")`` works anywhere.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import _integer, _schema, _text, _transaction

# Status colours: pale to dark blue while active, then how it ended.
STATUS_COLOURS = {
    "INITIATED": "#9ecae1",
    "ACTIVE": "#3182bd",
    "COMPLETED": "#31a354",
    "FAILED": "#de2d26",
    "CANCELLED": "#969696",
}
OTHER_COLOUR = "#fdae6b"
# Event markers: (matplotlib marker, colour, legend label).
MARKERS = {
    "duplicate": ("D", "#756bb1", "intentional duplicate (of #id)"),
    "cancelled": ("X", "black", "cancelled (by whom)"),
    "deleted": ("s", "#636363", "deleted (by whom)"),
    "moved": (">", "#e6550d", "key changed"),
}


@dataclass
class _Timeline:
    batch_id: int
    batch_type: str = "?"
    status: Optional[str] = None           # as of the last event read
    since: Optional[dt.datetime] = None    # when that status began, while in the configuration
    segments: List[Tuple[dt.datetime, dt.datetime, str]] = field(default_factory=list)
    markers: List[Tuple[dt.datetime, str, str]] = field(default_factory=list)   # (when, kind, label)
    duplicate_of: Optional[int] = None
    first: Optional[dt.datetime] = None


def _read(conn: psycopg.Connection, configuration_id: int, schema: Optional[str]) -> Tuple[
        List[Dict[str, Any]], Dict[int, Dict[str, Any]], dt.datetime]:
    """The audit events of every batch that is or was in the configuration, the batches now, and now."""
    s = sql.Identifier(_schema(conn, schema))
    ids = sql.SQL(
        "SELECT id FROM {s}.irp_batch WHERE configuration_id = %(c)s"
        " UNION SELECT batch_id FROM {s}.irp_batch_event"
        " WHERE %(c)s IN ((details->>'configuration_id')::integer, (details->>'old_configuration_id')::integer,"
        "                 (details->>'new_configuration_id')::integer)").format(s=s)
    with conn.cursor(row_factory=dict_row) as cur:
        events = cur.execute(sql.SQL(
            "SELECT e.id, e.batch_id, e.event, e.reason, e.actor, e.details, e.event_ts"
            " FROM {s}.irp_batch_event e WHERE e.batch_id IN ({ids}) ORDER BY e.id").format(s=s, ids=ids),
            {"c": configuration_id}, prepare=False).fetchall()
        batches = cur.execute(sql.SQL(
            "SELECT b.id, b.configuration_id, b.batch_type::text AS batch_type, b.status::text AS status,"
            " b.duplicate_of, b.created_ts FROM {s}.irp_batch b WHERE b.id IN ({ids}) ORDER BY b.id").format(
                s=s, ids=ids), {"c": configuration_id}, prepare=False).fetchall()
        now = cur.execute("SELECT now()", prepare=False).fetchone()["now"]
    return events, {b["id"]: b for b in batches}, now


def _timelines(configuration_id: int, events: List[Dict[str, Any]], batches: Dict[int, Dict[str, Any]],
               now: dt.datetime) -> List[_Timeline]:
    lines: Dict[int, _Timeline] = {}
    inside: Dict[int, bool] = {}

    def close(line: _Timeline, at: dt.datetime) -> None:
        if line.since is not None and line.status is not None:
            line.segments.append((line.since, at, line.status))
        line.since = None

    for e in events:
        line = lines.setdefault(e["batch_id"], _Timeline(e["batch_id"]))
        details = e["details"] or {}
        at, kind, actor = e["event_ts"], e["event"], e["actor"]
        was_inside = inside.get(line.batch_id, False)
        if kind in ("CREATED", "DUPLICATE_CREATED"):
            line.status = details.get("status", "INITIATED")
            line.batch_type = details.get("batch_type", line.batch_type)
            now_inside = details.get("configuration_id") == configuration_id
            if kind == "DUPLICATE_CREATED" and now_inside:
                line.duplicate_of = details.get("duplicate_of")
                line.markers.append((at, "duplicate", f"duplicate of #{line.duplicate_of}"))
        else:
            now_inside = details.get("new_configuration_id", configuration_id if was_inside else None) \
                == configuration_id
            line.batch_type = details.get("new_batch_type", line.batch_type)
        if was_inside and not now_inside:
            close(line, at)
            line.markers.append((at, "moved", f"moved to configuration {details.get('new_configuration_id')}"))
        elif now_inside and not was_inside:
            if kind not in ("CREATED", "DUPLICATE_CREATED"):
                line.markers.append((at, "moved", f"moved from configuration {details.get('old_configuration_id')}"))
            line.since = at
            line.first = line.first or at
        inside[line.batch_id] = now_inside

        new_status = {"CANCELLED": "CANCELLED"}.get(kind, details.get("new_status"))
        if kind == "DELETED":
            if now_inside:
                close(line, at)
                line.markers.append((at, "deleted", f"deleted by {actor}"))
            inside[line.batch_id] = False
            line.status = None
            continue
        if new_status is not None and new_status != line.status:
            if now_inside and was_inside:
                close(line, at)
                line.since = at
            line.status = new_status
        if kind == "CANCELLED" and now_inside:
            reason = (e["reason"] or "").strip()
            if len(reason) > 40:
                reason = reason[:39] + "…"
            line.markers.append((at, "cancelled", f"cancelled by {actor}" + (f": {reason}" if reason else "")))
        if kind == "DUPLICATE_OF_CHANGED" and now_inside:
            new = details.get("new_duplicate_of")
            line.duplicate_of = new
            line.markers.append((at, "duplicate", f"duplicate of #{new}" if new is not None
                                 else "no longer a duplicate"))

    # Batches now in the configuration: their last status runs until now. A
    # row with no event at all predates the audit trail (adopted tables): its
    # current status from its creation on.
    for batch_id, b in batches.items():
        if b["configuration_id"] != configuration_id:
            continue
        line = lines.setdefault(batch_id, _Timeline(batch_id, b["batch_type"]))
        if not inside.get(batch_id, False):
            start = b["created_ts"] or now
            line.since, line.first = start, line.first or start
            line.duplicate_of = b["duplicate_of"]
        line.status = b["status"]
        line.batch_type = b["batch_type"]
    for batch_id, line in lines.items():
        if batch_id in batches and batches[batch_id]["configuration_id"] == configuration_id:
            close(line, now)
    return sorted((line for line in lines.values() if line.segments or line.markers),
                  key=lambda line: (line.first or now, line.batch_id))


_FIGURE_CLASS: Any = None


def _figure_class(figure: Any) -> Any:
    """A matplotlib Figure that Jupyter shows as a PNG by itself (``_repr_png_``), with no pyplot or %matplotlib."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        class HistoryFigure(figure):  # type: ignore[misc, valid-type]
            """The Figure of plot_history(): a plain matplotlib Figure that IPython displays as a PNG."""

            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100)
                return buffer.getvalue()

        _FIGURE_CLASS = HistoryFigure
    return _FIGURE_CLASS


def plot_history(configuration_id: int, *, ax: Any = None, title: Optional[str] = None,
                 schema: Optional[str] = None, conn: Optional[psycopg.Connection] = None) -> Any:
    """Draws the life of each of the configuration's batches; returns the matplotlib ``Figure``.

    One horizontal timeline per batch (also batches deleted or moved to
    another configuration since, from ``irp_batch_event``), in order of
    creation, labelled ``#id batch_type``: segments coloured by the batch's
    status over time, up to now; markers for intentional duplicates (with the
    batch they duplicate, also drawn as a dotted line to it), cancellations
    (who, and the reason), deletions (who) and key changes. Time runs along
    the x axis in the session's time zone. ``ax`` draws into an Axes of
    yours; otherwise a new Figure is made (Agg canvas, no pyplot: nothing is
    shown until you display or save it; as a cell's last expression, or with
    ``display(fig)``, Jupyter shows it as a PNG). Needs matplotlib (python3-matplotlib).
    """
    configuration_id_ = _integer("configuration_id", configuration_id)
    if configuration_id_ is None:
        raise TypeError("configuration_id must be an integer, not None")
    title = _text("title", title)
    try:
        import matplotlib.dates as mdates
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
    except ImportError as e:
        raise ImportError("plot_history() needs matplotlib: apt install python3-matplotlib, "
                          "or pip install 'irp-batch-client[notebook]'") from e

    with _transaction(conn) as c:
        events, batches, now = _read(c, configuration_id_, schema)
    lines = _timelines(configuration_id_, events, batches, now)

    if ax is None:
        fig = _figure_class(Figure)(figsize=(11, 1.6 + 0.55 * max(len(lines), 1)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    tz = now.tzinfo
    ax.set_title(title if title is not None else f"Configuration {configuration_id_}: batch history")
    ax.set_xlabel(f"time ({now.tzname() or 'UTC'})")
    ax.set_ylabel("batch")
    if not lines:
        ax.text(0.5, 0.5, f"configuration {configuration_id_} has no batches", transform=ax.transAxes,
                ha="center", va="center")
        ax.set_yticks([])
        return fig

    row = {line.batch_id: i for i, line in enumerate(lines)}
    statuses: List[str] = []
    kinds: List[str] = []
    start = min(s for line in lines for s, _, _ in line.segments) if any(line.segments for line in lines) else now
    span = max((now - start).total_seconds(), 1.0)
    for line in lines:
        y = row[line.batch_id]
        for begin, end, status in line.segments:
            # A status that lasted an instant still gets a sliver of width.
            width = max((end - begin).total_seconds(), span / 400) / 86400.0
            ax.barh(y, width, left=mdates.date2num(begin), height=0.5,
                    color=STATUS_COLOURS.get(status, OTHER_COLOUR), edgecolor="white", linewidth=0.5,
                    label=f"_{status}")
            if status not in statuses:
                statuses.append(status)
        for i, (at, kind, text) in enumerate(line.markers):
            marker, colour, _ = MARKERS[kind]
            x = mdates.date2num(at)
            ax.plot([x], [y], marker=marker, color=colour, markersize=8, linestyle="none", zorder=3,
                    label=f"_{kind}")
            # Labels above and below the bar in turn, so that close events do not overwrite each other.
            ax.annotate(text, (x, y), xytext=(5, 10 if i % 2 == 0 else -10), textcoords="offset points",
                        va="bottom" if i % 2 == 0 else "top", fontsize=8, color=colour, zorder=4,
                        bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))
            if kind == "duplicate" and line.duplicate_of in row:
                ax.plot([x, x], [y, row[line.duplicate_of]], linestyle=":", color=colour, linewidth=1, zorder=2,
                        label="_link")
            if kind not in kinds:
                kinds.append(kind)

    ax.set_yticks(range(len(lines)))
    ax.set_yticklabels([f"#{line.batch_id} {line.batch_type}" for line in lines])
    ax.set_ylim(len(lines) - 0.4, -0.6)     # the oldest batch on top
    left = mdates.date2num(start) - span * 0.02 / 86400.0
    right = mdates.date2num(now) + span * 0.12 / 86400.0
    ax.set_xlim(left, right)
    locator = mdates.AutoDateLocator(tz=tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    ax.grid(axis="x", alpha=0.3)

    order = [s for s in STATUS_COLOURS if s in statuses] + [s for s in statuses if s not in STATUS_COLOURS]
    handles: List[Any] = [Patch(color=STATUS_COLOURS.get(s, OTHER_COLOUR), label=s) for s in order]
    handles += [Line2D([], [], marker=MARKERS[k][0], color=MARKERS[k][1], linestyle="none", label=MARKERS[k][2])
                for k in MARKERS if k in kinds]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
              title="status / event", title_fontsize=8)
    return fig
