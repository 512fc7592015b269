"""Seeing results: a self-contained HTML report and a live local dashboard, drawing the same views.

``data`` turns the store and the repository into the views' JSON; ``page`` writes the one HTML page
(plotly.js, the page's script and style, the data, all inline); ``write`` makes the report file;
``server`` serves the page and its data on 127.0.0.1, read-only, updating as results arrive.
"""
