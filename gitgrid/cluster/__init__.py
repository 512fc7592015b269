"""Running a sweep on a batch cluster: array jobs submitted, tracked and cancelled, and the task that runs
points on a node.

``scheduler`` is the interface, with one module per scheduler (``slurm``, ``pbs``, ``lsf``) and
``schedulers`` naming them; ``submit`` writes and submits array jobs; ``reconcile`` reads their fate back
into the store; ``task`` is what a job script runs on a node.
"""
