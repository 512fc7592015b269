"""Reading results back: queries over the store (one row per point, filtered, sorted) and a sweep's state.

``tables`` gives :class:`~gitgrid.query.tables.ResultTable`; ``status`` counts points by state and shows
failures; ``views`` answers the report's and the dashboard's questions. Nothing here runs a command;
``status`` asks a cluster's scheduler about submitted points. (Not called ``results``: importing a
subpackage of that name would replace the ``gitgrid.results`` function on the package.)
"""
