"""The small pieces every stage shares: folders, errors, atomic writes, derived-table files.

``paths`` (where the project's folders are), ``errors`` (:class:`DataValidationError`, naming file,
row, column and rule), ``atomic`` (all-or-nothing writes), ``tables`` (the derived tables of
CONTRACTS.md: names, columns, dtypes, reading and writing), ``palette`` (the study's colours),
``reproducible_zip`` (byte-stable archives), ``fingerprints`` and ``buildlock`` (what ``make`` runs
at every start, so stdlib only). Modules here import nothing else of ``analysis``.
"""
