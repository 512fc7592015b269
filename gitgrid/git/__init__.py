"""The only code that talks to git: GitPython for reading, the git CLI for refs and checkouts, and the
writers of a sweep's objects (``git fast-import`` and gitgrid's own pack writer).

``repository`` is a repository and its refs, config and worktrees; ``checkout`` moves checkouts;
``fastimport`` streams commits through ``git fast-import``; ``pack`` writes a pack file and its index
directly. No other package imports GitPython or starts ``git`` (enforced in ``make lint``).
"""
