"""Stage 4 of the pipeline: what readers see.

``figures`` (showing and saving figures and tables from the notebooks), ``briefings`` (one
briefing per site and overall) and the offline renderer ``render`` (report, slides and
briefings from the Quarto sources). May import every stage before it and ``protect``.
"""
