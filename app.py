"""VAE Latent Explorer: the 2-D latent space of a VAE trained on MNIST, alive.

`streamlit run app.py`. The page is explorer/ui; the starting model is
pretrained/lam-1.safetensors or $EXPLORER_MODEL, and models trained in the app go to
$EXPLORER_MODELS_DIR (default ./models).
"""
import streamlit as st

# ?present (presentation mode, explorer.ui.state.PRESENT_PARAM) opens the page with the sidebar closed.
st.set_page_config(page_title="VAE Latent Explorer", layout="wide",
                   initial_sidebar_state="collapsed" if "present" in st.query_params else "expanded")

from explorer.ui import page  # noqa: E402  (after set_page_config, which must come first)

page.main()
