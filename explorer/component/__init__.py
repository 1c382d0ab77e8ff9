"""The latent plane, a browser component: ES modules and CSS in this folder, and their Python side.

    protocol.py   what Python sends and what it receives, and their validators (no Streamlit);
                  protocol.js is its other half
    bundle.py     the modules joined into the one inline module Streamlit takes (no Streamlit)
    widget.py     the Streamlit component: `latent_plane`
"""
