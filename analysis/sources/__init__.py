"""Stage 1 of the pipeline: reading each kind of raw export (CONTRACTS.md "Raw export folder").

One module per kind: ``declared`` (any file ``sources.yml`` declares, CSV or XLSX), ``redcap``
(records + data dictionary), ``contact_logs``, ``coded_data`` (codebook and coded segments from
the CSV export), ``refi_qda`` with the ``qda`` package (REFI-QDA projects), ``transcripts``,
``professionals``; ``context`` holds what every reader shares. Imports only ``core`` and
``protect`` (identifier screening as data are read).
"""
