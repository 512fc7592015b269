"""A sweep as history: creating one (a commit per point, refs at the end) and reading sweeps back.

``record`` is what gitgrid writes about a sweep (its tag message, its commits' trailers); ``commits``
turns rendered points into commits through the git writers; ``create`` plans and writes a sweep;
``append`` grows one a batch of points at a time (``gitgrid optimize``); ``catalog`` finds sweeps and
lists their points.
"""
