"""Streamlit dashboard: a client of the gateway only (see dashboard/app.py)."""
