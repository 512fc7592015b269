"""Running points and keeping their results: the run contract, one function that runs a point wherever
it runs, the checkouts points run in, the local runner, and the results store.

``contract`` is what a command is given and gives back; ``execute`` runs one point; ``processes``
starts and stops commands; ``checkouts`` and ``locks`` are the checkouts and who holds them; ``store`` is
the SQLite store; ``runner`` runs a sweep locally; ``collect`` and ``prepare`` take in and hand out runs
made elsewhere.
"""
