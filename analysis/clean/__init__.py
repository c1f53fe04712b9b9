"""Stage 2 of the pipeline: the cleaning stage, raw frames in, the derived tables out.

One module per derived table or group of tables (``participants``, ``events`` with
``placements``, ``interviews``, ``contacts``, ``segments``, and issue 13's study materials:
``diaries``, ``life_events``, ``eacg``, ``care_model`` with their shared ``materials``), the
pandera ``schemas``, the cleaning-log ``report``, and ``run``, which composes them
(``python -m analysis.clean.run``). Imports ``core``, ``sources`` and ``protect``.
"""
