"""Array jobs on a batch cluster, whatever the scheduler: submitted, tracked and cancelled, and the task
that runs points on a node.

``scheduler`` is the interface a scheduler implements (each one lives with its launcher in
:mod:`gitgrid.launch`, which names them); ``submit`` writes and submits array jobs; ``reconcile`` reads
their fate back into the store; ``task`` is what a job script runs on a node; ``clean`` removes what a
crash left in scratch and under the runs root.
"""
