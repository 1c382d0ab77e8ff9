"""The table of every model and the rate-distortion chart (a click explores a model): two tabs in
a section under the plane, closed when the page opens.

Only what is open is drawn (the section and the tabs rerun the page when opened or switched):
the table's grid and the chart's Plotly bundle hold the browser's main thread while they load,
so they load when asked for, not while the plane answers its first clicks. Tab labels stay
fixed, since the open tab is remembered by its label."""
from __future__ import annotations

import streamlit as st

from explorer import charts

from . import actions, resources, state
from .session import Explored

TABS = ("Model library", "Rate–distortion")  # the first is Session.library_tab's default


def panel(explored: Explored) -> None:
    section = st.expander("Model library and rate–distortion chart", key="library_open", on_change="rerun",
                          icon=":material/stacked_line_chart:")
    if not section.open:
        return
    listing = resources.manager().library.listing()
    entries = list(listing.entries)
    table_tab, rd_tab = section.tabs(TABS, key="library_tab", on_change="rerun")
    if table_tab.open:
        with table_tab, st.container(key="library"):
            for problem in listing.problems:
                st.warning(f"Skipped `{problem.name}`: {problem.message}", icon=":material/warning:")
            table(entries, explored)
    if rd_tab.open:
        with rd_tab, st.container(key="rd"):
            dial = listing.dials[0] if listing.dials else None
            curve = resources.dial_curve(*resources.stamp(dial.path)) if dial else None
            st.caption("Each model of the library at its test KL (rate) and reconstruction cost (distortion); "
                       "λ trades one for the other. Click a point to explore that model."
                       + (" The line is the λ dial: one network, evaluated along its whole range." if curve else ""))
            key = f"rd_chart_{state.get().rd_generation}"
            st.plotly_chart(charts.rate_distortion(entries, explored.id, curve, _story(entries, "rd")), key=key,
                            on_select=lambda: actions.on_rd_select(key), selection_mode="points",
                            config={"displayModeBar": False})


def table(entries, explored: Explored) -> None:
    user = sum(not e.shipped for e in entries)
    st.caption(f"{len(entries)} models: {len(entries) - user} shipped, {user} trained here. "
               "Select a row to explore it or, for one trained here, delete it.")
    rows = charts.library_rows(entries, explored.id, _story(entries, "table"))
    # Keyed by the listed ids, so a selection never outlives the rows it pointed at.
    event = st.dataframe(rows, key="library_table_" + str(hash(tuple(r["id"] for r in rows))), hide_index=True,
                         on_select="rerun", selection_mode="single-row",
                         column_config={"λ": st.column_config.NumberColumn(format="%g")})
    chosen = [rows[i]["id"] for i in event.selection.rows if i < len(rows)]
    if not chosen:
        return
    entry = next(e for e in entries if e.id == chosen[0])
    buttons = st.container(horizontal=True)
    buttons.button(f"Explore {entry.id}", key="explore_selected", on_click=actions.on_explore, args=(entry.id,),
                   type="primary", disabled=entry.id == explored.id)
    if entry.shipped:
        return
    if state.get().confirm_delete != entry.id:
        buttons.button("Delete…", key="delete_selected", icon=":material/delete:", on_click=actions.on_ask_delete,
                       args=(entry.id,))
        return
    st.warning(f"Delete `{entry.id}` from disk? This cannot be undone.")
    confirm = st.container(horizontal=True)
    confirm.button("Delete for good", key="delete_confirm", on_click=actions.on_delete, args=(entry.id,))
    confirm.button("Keep it", key="delete_keep", on_click=actions.on_ask_delete, args=(None,))


def _story(entries, where: str) -> dict:
    """The story's measures (explorer.story) of the models measured so far, by id; a button measures
    the others (a few seconds each, once: they are kept on disk with the published files)."""
    figures = {e.id: resources.story(e.path, measure=False) for e in entries}
    missing = [e for e in entries if figures[e.id] is None]
    label = (f"Measure the story of {len(missing)} model(s): the prior's mass in holes, prior samples a "
             "classifier recognises (a few seconds each)")
    if missing and st.button(label, key=f"story_{where}_{len(missing)}"):
        bar = st.progress(0.0)
        for k, e in enumerate(missing):
            bar.progress(k / len(missing), text=f"Measuring {e.id}…")
            figures[e.id] = resources.story(e.path)
        bar.empty()
    return {k: v for k, v in figures.items() if v is not None}
