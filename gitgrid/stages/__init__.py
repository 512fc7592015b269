"""Post-processing as a stage of its own: ``gitgrid analyze`` runs an analysis of each point's finished
simulation run, or one over the whole sweep, wherever points run, and again whenever it goes stale.

``code`` is what a stage runs and how it is named: the analysis code (the working tree, or ``--code``)
as a commit, and the analysis key that makes a stage's result current or stale. ``analyze`` hands a
stage of per-point runs to any launcher (:mod:`gitgrid.launch`), which runs it as it runs a sweep's
points (:mod:`gitgrid.run.target`); ``every`` runs a stage once with every point (``--all``), here.
"""
