"""The Streamlit page of the explorer, in parts.

    session.py        every session-state key, its type and default (no Streamlit)
    decide.py         what each event does to a session, as plain functions (no Streamlit)
    state.py          reading and writing st.session_state as a `Session`
    actions.py        the callbacks: the only code that writes session state
    resources.py      cached loaders (plane files, model, images, the job manager)
    page.py           the layout: title, the plane, then everything that needs torch
    plane.py          the plane, its sidebar widgets and downloads (torch-free until a download is asked for)
    compare.py        the compare view's second model and each plane's figures
    tour_steps.py     the guided tour's steps, as data
    tour.py           the guided tour's button and panel
    models.py         sidebar: the lambda slider, notices and training settings
    training.py       sidebar: this session's training job, live
    metrics.py        the explored model's test figures
    library_panel.py  the model library and the rate-distortion chart, drawn when opened
"""
