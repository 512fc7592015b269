"""What the study is: a spec (YAML) read into checked values, and the lazy space of points it describes.

``loader`` reads YAML with line numbers; ``values`` says what a param value may be; ``axes`` holds the
kinds of value lists (one registry, :data:`~gitgrid.spec.axes.RANGE_KINDS`); ``expression`` is the safe
language of ``where``; ``model`` and ``reader`` are the spec; ``space`` enumerates its points. Nothing here
knows about git, files or runs.
"""
