"""plot_history() (issue 16): each batch's life from the real audit trail, drawn with matplotlib."""
import os

import matplotlib.colors
import matplotlib.dates
import psycopg
import pytest
from matplotlib.figure import Figure

import irp_batch_client as irp
from conftest import OPTIONS

COLOURS = {"INITIATED": "#9ecae1", "ACTIVE": "#3182bd", "COMPLETED": "#31a354", "FAILED": "#de2d26",
           "CANCELLED": "#969696"}


@pytest.fixture
def alice(database):
    """A role of its own that may change batches (README, Privileges): the actor of a cancellation."""
    name = f"irp_pytest_alice_{os.getpid()}"
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as c:
        c.execute(f"DROP ROLE IF EXISTS {name}")
        c.execute(f"CREATE ROLE {name}")
        c.execute(f"GRANT SELECT, INSERT, UPDATE ON irp_batch, irp_job TO {name}")
        c.execute(f"GRANT SELECT ON irp_batch_event TO {name}")
    yield name
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as c:
        c.execute(f"REVOKE ALL ON irp_batch, irp_job, irp_batch_event FROM {name}")
        c.execute(f"DROP ROLE {name}")


def status_of(colour):
    hex_colour = matplotlib.colors.to_hex(colour)
    return next(s for s, c in COLOURS.items() if c == hex_colour)


def bars(ax):
    """{row: [(start, status), ...]} of the timeline segments, in time order."""
    rows = {}
    for patch in ax.patches:
        y = round(patch.get_y() + patch.get_height() / 2)
        rows.setdefault(y, []).append((patch.get_x(), status_of(patch.get_facecolor())))
    return {y: [s for _, s in sorted(segments)] for y, segments in rows.items()}


def annotations(ax):
    """{row: [text, ...]} of the event labels."""
    rows = {}
    for text in ax.texts:
        rows.setdefault(round(text.xy[1]), []).append(text.get_text())
    return rows


def test_one_timeline_per_batch_coloured_by_status_with_its_events(db, database, alice, config_id, step_id, tmp_path):
    other_config = config_id + 100000
    done = irp.create_batch("EDM_CREATION", config_id, step_id, jobs=[{"n": 1}])
    db.execute("UPDATE irp_batch SET status = 'ACTIVE' WHERE id = %s", (done,))
    db.execute("UPDATE irp_batch SET status = 'COMPLETED' WHERE id = %s", (done,))
    original = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id)
    duplicate = irp.create_batch("PORTFOLIO_CREATION", config_id, step_id, allow_duplicate=True)
    with psycopg.connect(dbname=database, autocommit=True, options=OPTIONS) as c:
        with c.transaction():
            c.execute(f"SET LOCAL ROLE {alice}")
            irp.cancel_batch(duplicate, reason="Re-ran Step 03 by mistake", conn=c)
    gone = irp.create_batch("ANALYSIS", config_id, step_id)
    db.execute("DELETE FROM irp_batch WHERE id = %s", (gone,))
    moved_in = irp.create_batch("EDM_CREATION", other_config, step_id)
    db.execute("UPDATE irp_batch SET configuration_id = %s, status = 'ACTIVE' WHERE id = %s", (config_id, moved_in))
    irp.create_batch("EDM_CREATION", other_config + 1, step_id)       # another configuration's: not drawn
    user = db.execute("SELECT current_user").fetchone()[0]

    fig = irp.plot_history(config_id)

    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"#{done} EDM_CREATION", f"#{original} PORTFOLIO_CREATION", f"#{duplicate} PORTFOLIO_CREATION",
        f"#{gone} ANALYSIS", f"#{moved_in} EDM_CREATION"]
    assert bars(ax) == {0: ["INITIATED", "ACTIVE", "COMPLETED"], 1: ["INITIATED"], 2: ["INITIATED", "CANCELLED"],
                        3: ["INITIATED"], 4: ["ACTIVE"]}
    assert annotations(ax) == {2: [f"duplicate of #{original}", f"cancelled by {alice}: Re-ran Step 03 by mistake"],
                               3: [f"deleted by {user}"], 4: [f"moved from configuration {other_config}"]}
    # The duplicate's marker is linked to the batch it duplicates (rows 2 and 1).
    links = [line for line in ax.get_lines() if line.get_label() == "_link"]
    assert [sorted(line.get_ydata()) for line in links] == [[1, 2]]
    markers = {line.get_label(): line.get_marker() for line in ax.get_lines() if line.get_label() != "_link"}
    assert markers == {"_duplicate": "D", "_cancelled": "X", "_deleted": "s", "_moved": ">"}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "INITIATED", "ACTIVE", "COMPLETED", "CANCELLED", "intentional duplicate (of #id)", "cancelled (by whom)",
        "deleted (by whom)", "key changed"]
    assert ax.get_title() == f"Configuration {config_id}: batch history"
    assert ax.get_xlabel().startswith("time (") and ax.get_ylabel() == "batch"

    # Segments follow the audit trail's times: the first starts at the CREATED event.
    created = db.execute("SELECT event_ts FROM irp_batch_event WHERE batch_id = %s ORDER BY id LIMIT 1",
                         (done,)).fetchone()[0]
    first = min(p.get_x() for p in ax.patches if round(p.get_y() + p.get_height() / 2) == 0)
    assert first == pytest.approx(matplotlib.dates.date2num(created))

    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"     # what Jupyter shows, with no pyplot

    png = tmp_path / "history.png"
    fig.savefig(png, dpi=80)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 600 and height > 250 and len(data) > 10000


def test_a_configuration_without_batches(config_id):
    fig = irp.plot_history(config_id)
    ax = fig.axes[0]
    assert len(ax.patches) == 0 and [t.get_text() for t in ax.texts] == [f"configuration {config_id} has no batches"]


def test_into_an_axes_of_yours(config_id, step_id):
    irp.create_batch("EDM_CREATION", config_id, step_id)
    fig = Figure()
    ax_left, ax_right = fig.subplots(1, 2)
    assert irp.plot_history(config_id, ax=ax_right, title="mine") is fig
    assert len(ax_left.patches) == 0 and len(ax_right.patches) == 1 and ax_right.get_title() == "mine"
    with pytest.raises(TypeError):
        irp.plot_history("42")
    with pytest.raises(TypeError):
        irp.plot_history(None)
