"""Point values -> file bytes: where each value goes in each file, planned once, rendered per point.

``paths`` checks spec paths against the base commit's tree; ``files`` holds the planned files;
``targets`` finds ``target = value`` lines; ``templates`` renders Jinja; ``plan`` ties them into a
:class:`~gitgrid.rewrite.plan.Rewriter`. Nothing here talks to git: the base tree comes in as a reader.
"""
