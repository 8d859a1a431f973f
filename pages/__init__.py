"""The app's pages: each lays out widgets and calls kpi_core; app.py's st.navigation runs them."""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def through_app() -> None:
    """Run this page only through app.py (its sign-in and its menu).

    Streamlit 1.67 starts a new server in its legacy multipage mode when a `pages/` folder sits
    beside the main script: the first visit runs the page its URL names straight from this folder,
    before app.py has signed anyone in, with every file here listed in the sidebar. Each page
    calls this first: in that mode it turns the mode off (as app.py's st.navigation does) and runs
    the visit again, through app.py.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
