"""Disclosure control and identifier protection, used by every stage and importing none.

``policy`` (profiles and rules of ``config/disclosure_policy.yml``), ``disclosure``
(suppression, rounding, k-anonymity), ``redesign``, ``register`` (what was released), the output
gate (``outputs``, ``person_level``), ``identifiers`` and ``screening`` (raw data must be
de-identified), ``output_check`` (the last gate over ``reports/_output``) and
``anonymisation_log``. Imports only ``core``.
"""
