"""Reading results back: queries over the store (one row per point, filtered, sorted) and a sweep's state.

``query`` gives :class:`~gitgrid.results.query.ResultTable`; ``status`` counts points by state and shows
failures. Nothing here runs a command; ``status`` asks a cluster's scheduler about submitted points.
"""
