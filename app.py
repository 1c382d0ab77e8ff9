"""VAE Latent Explorer: the 2-D latent space of a VAE trained on MNIST, alive.

`streamlit run app.py`. The page is explorer/ui; the starting model is
pretrained/lam-1.safetensors or $EXPLORER_MODEL, and models trained in the app go to
$EXPLORER_MODELS_DIR (default ./models).
"""
import streamlit as st

st.set_page_config(page_title="VAE Latent Explorer", layout="wide", initial_sidebar_state="expanded")

from explorer.ui import page  # noqa: E402  (after set_page_config, which must come first)

page.main()
