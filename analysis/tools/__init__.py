"""Tools beside the pipeline that ``make`` and the study team run; nothing in the pipeline imports them.

``stage`` (the papermill stage runner), ``build_status`` (``make status``), ``environment``
(``make setup`` and test dependencies), ``lab`` (``make lab``), ``githooks`` (the pre-commit
checks). The synthetic-study generator, also a tool, is ``analysis.synthetic``.
"""
