"""Where points run: one interface, :class:`~gitgrid.launch.launcher.Launcher`, and one module per place.

``launcher`` is the interface (launch a selection of points with one ``RunOptions``, read their states,
cancel, wait) and ``registry`` the one list of launchers by name, which the command line (``--on``),
``optimize``, the docs' table and the tests all read. ``local`` runs points on this machine (the runner of
:mod:`gitgrid.run.runner`); ``arrays`` is what every batch scheduler shares (array jobs through
:mod:`gitgrid.cluster`), with ``slurm``, ``pbs``, ``lsf`` and ``local_array`` (a scheduler of this
machine's own, so the array path runs anywhere); ``dask`` runs each point as a task on a Dask cluster.
Launchers never import each other (an import-linter contract).
"""
