"""Results that travel with git: runs as records in git notes, pushed and pulled with their sweeps.

``record`` is a run as one line of canonical JSON (written from the store, read back as untrusted
input); ``notes`` the results notes (the ref, which note a record goes in, bounds, the union two
machines' notes merge into); ``export`` writes the store's new runs into the local notes; ``imports``
stores the records of pulled notes; ``sync`` is ``gitgrid push`` and ``gitgrid pull``. A layer of its
own above ``run`` (it collects finished run directories before a push, and checks pulled metrics as
``collect`` checks a run's), below ``cluster``.
"""
