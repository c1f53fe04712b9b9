# Stepping Stones analysis pipeline.
#
#   make          set up the environment if missing, then build every output
#   make test     set up if missing, then run every test
#   make help     list all targets
#
# The pipeline is a graph of file targets (see README "Pipeline"):
#   $(DATA_RAW) -> 01_clean -> data_derived/*.parquet -> 02_site_profile (x4 sites)
#               -> 03_synthesis (+ _variables.yml) -> report / slides / briefings
#               -> output-check.csv
# so `make` after `make` does nothing, one site's change reruns only that site, and
# `make -j2` runs independent stages in parallel.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# ---------------------------------------------------------------- settings
PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
DATA_RAW   ?= data_raw/synthetic
DERIVED    := data_derived
NB_OUT     := $(DERIVED)/notebooks
OUT        := reports/_output
SITES      := east_london huddersfield glasgow ayrshire
ENGINE     ?= auto
# Number of individual journey maps per site notebook (empty = every woman).
MAX_JOURNEY_MAPS ?=
REVEALJS_VERSION := 5.2.1

export PYTHONHASHSEED := 0
export DATA_RAW
export DATA_DERIVED := $(abspath $(DERIVED))
export MPLBACKEND := Agg

# Stamps.
SETUP_STAMP := $(VENV)/.setup-complete
RAW_STAMP   := $(DERIVED)/.data_raw
CLEAN_STAMP := $(DERIVED)/manifest.json

# Every file in the raw export folder (sorted, so the graph is stable).
RAW_FILES := $(shell find $(DATA_RAW) -type f ! -name '.*' 2>/dev/null | LC_ALL=C sort)

# The raw folder's path is a prerequisite too: pointing DATA_RAW somewhere else must rerun
# cleaning even when the new folder's files are older than the derived tables. The stamp file is
# rewritten only when the path changes.
$(shell mkdir -p $(DERIVED); p='$(abspath $(DATA_RAW))'; [ "$$(cat $(RAW_STAMP) 2>/dev/null)" = "$$p" ] || printf '%s\n' "$$p" > $(RAW_STAMP))

# Code each stage runs (a change in it reruns that stage).
CLEAN_CODE := analysis/cleaning.py analysis/schemas.py analysis/redcap.py analysis/contact_logs.py \
              analysis/tables.py analysis/errors.py analysis/atomic.py $(wildcard analysis/qda/*.py) \
              analysis/study_materials.py analysis/diaries.py analysis/life_events.py \
              analysis/eacg.py analysis/care_model.py \
              $(wildcard analysis/config/*.csv)
SITE_CODE  := analysis/site_profile.py analysis/journeys.py analysis/themes.py analysis/figures.py \
              analysis/life_events.py \
              analysis/palette.py analysis/outputs.py analysis/disclosure.py \
              analysis/config/disclosure_policy.yml
SYNTH_CODE := $(SITE_CODE) analysis/framework_matrix.py analysis/pathways.py \
              analysis/models_of_care.py analysis/key_numbers.py analysis/diaries.py analysis/eacg.py \
              analysis/care_model.py analysis/study_materials.py

SITE_NBS   := $(foreach s,$(SITES),$(NB_OUT)/02_site_profile_$(s).ipynb)
SYNTH_NB   := $(NB_OUT)/03_synthesis.ipynb
VARIABLES  := _variables.yml

RENDER     := $(PY) -m analysis.render --engine $(ENGINE) --out $(OUT)
TEMPLATES  := $(wildcard reports/_templates/*) _quarto.yml
REPORT_SRC := reports/report.qmd $(wildcard reports/report/*.qmd) reports/references.bib
SLIDES_SRC := reports/slides.qmd
BRIEF_SRC  := reports/briefing.qmd
REPORT_OUT := $(OUT)/report.docx $(OUT)/report.html $(OUT)/report.pdf
SLIDES_OUT := $(OUT)/slides.html $(OUT)/slides.pptx
BRIEF_OUT  := $(foreach s,$(SITES) overall,$(OUT)/briefings/$(s).docx $(OUT)/briefings/$(s).pdf)
CHECK_LOG  := $(OUT)/output-check.csv

# Stage commands (overridable: tests/test_makefile.py swaps in fast stand-ins to check the graph).
PHASE1     = $(MAKE) --no-print-directory $(CLEAN_STAMP)

PAPERMILL  := $(PY) -m papermill --progress-bar --log-output --cwd notebooks -k python3
BRIEFING   := $(PY) -m analysis.briefings
OUTPUT_CHECK := $(PY) -m analysis.output_check

# ---------------------------------------------------------------- top-level verbs
.PHONY: all help setup data analysis report slides briefings check-outputs test test-fast \
        lab clean distclean bench lock synthetic

all: $(SETUP_STAMP) ## Build everything: data, analyses, report, slides, briefings, output check
	@$(PHASE1)
	@$(MAKE) --no-print-directory $(CHECK_LOG)

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## Create .venv from the pinned requirements, reveal.js, git hooks, Quarto check
	@:

data: $(SETUP_STAMP) ## Run only the data stages (cleaning) into data_derived/
	@$(PHASE1)

analysis: $(SETUP_STAMP) ## Run the cleaning, the four site profiles and the synthesis
	@$(PHASE1)
	@$(MAKE) --no-print-directory $(SITE_NBS) $(SYNTH_NB)

report: $(SETUP_STAMP) ## Render the NIHR report (DOCX, HTML, PDF)
	@$(PHASE1)
	@$(MAKE) --no-print-directory $(REPORT_OUT)

slides: $(SETUP_STAMP) ## Render the practitioner-event slides (HTML, PPTX)
	@$(PHASE1)
	@$(MAKE) --no-print-directory $(SLIDES_OUT)

briefings: $(SETUP_STAMP) ## Render the site and overall briefings (DOCX, PDF)
	@$(PHASE1)
	@$(MAKE) --no-print-directory $(BRIEF_OUT)

check-outputs: $(SETUP_STAMP) ## Run the output check over reports/_output
	@$(MAKE) --no-print-directory $(CHECK_LOG)

test: $(SETUP_STAMP) ## Run every test (unit, notebooks, renders, browser), offline
	@$(PY) -m analysis.environment system-test-deps
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider tests
	@echo "== nbval: every notebook runs top to bottom on the synthetic study (scratch data_derived)"
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	  DATA_RAW=$(abspath data_raw/synthetic) DATA_DERIVED=$$scratch VARIABLES_PATH=$$scratch/_variables.yml \
	  $(PY) -m pytest -p no:cacheprovider -p no:xdist --nbval-lax --nbval-current-env \
	    notebooks/01_clean.ipynb notebooks/02_site_profile.ipynb notebooks/03_synthesis.ipynb notebooks/explore.ipynb

lab: $(SETUP_STAMP) ## Open JupyterLab on the project's kernel with the data ready
	@$(MAKE) --no-print-directory analysis
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

synthetic: $(SETUP_STAMP) ## Regenerate data_raw/synthetic from its recorded seed
	$(PY) -m analysis.synthetic --from-manifest data_raw/synthetic/manifest.json --out data_raw/synthetic

bench: $(SETUP_STAMP) ## Benchmark the pipeline at 1x, 10x and 100x (not part of make test)
	$(PY) -m benchmarks.run

lock: ## Re-resolve requirements.txt from requirements.in in a fresh venv
	rm -rf .venv-lock && $(PYTHON_SYS) -m venv .venv-lock && .venv-lock/bin/pip install -q -r requirements.in
	( echo "# Generated from requirements.in by 'make lock' (pip freeze of a fresh venv). Do not edit by hand."; \
	  .venv-lock/bin/pip freeze --exclude-editable ) > requirements.txt
	rm -rf .venv-lock

clean: ## Remove derived data, executed notebooks and rendered outputs (keeps .venv)
	rm -rf $(DERIVED)/* $(DERIVED)/.data_raw $(OUT) $(VARIABLES) reports/.quarto .quarto

distclean: clean ## Also remove the environment
	rm -rf $(VENV) node_modules

# ---------------------------------------------------------------- environment
$(SETUP_STAMP): requirements.txt
	@$(PYTHON_SYS) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	@[ -x $(PY) ] || { echo "setup: creating $(VENV)"; $(PYTHON_SYS) -m venv $(VENV); }
	@echo "setup: installing pinned requirements into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt 2>&1 | grep -v "is ignored" || true
	@$(PY) -c 'import pandas, papermill, altair, vl_convert, pypandoc, typst' \
	  || { echo "setup: the pinned requirements did not install (see pip's messages above)"; exit 1; }
	@$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "stepping_stones.pth").write_text("$(CURDIR)\n")'
	@$(PY) -m analysis.environment setup --revealjs $(REVEALJS_VERSION)
	@touch $@

# ---------------------------------------------------------------- data
$(CLEAN_STAMP): $(RAW_FILES) $(RAW_STAMP) $(CLEAN_CODE) notebooks/01_clean.ipynb | $(SETUP_STAMP)
	@mkdir -p $(NB_OUT)
	@echo "== 01_clean: $(DATA_RAW) -> $(DERIVED)/"
	$(PAPERMILL) notebooks/01_clean.ipynb $(NB_OUT)/01_clean.ipynb \
	  -p data_raw "$(abspath $(DATA_RAW))" -p data_derived "$(abspath $(DERIVED))"
	@touch $@

# Each site's fingerprint is rewritten by cleaning only when that site's rows change, so a site's
# profile reruns only when its own data changed. make reads a file's time once per run and has no
# "restat", so the verbs above run cleaning in a first make (PHASE1) and everything after it in a
# second one, which sees the fingerprints' new times. (Asking for a file target directly still
# cleans first, through the order-only prerequisite, but sees a fingerprint change one run late.)
$(DERIVED)/sites/%.sha256: | $(CLEAN_STAMP) ;

# ---------------------------------------------------------------- analyses
$(NB_OUT)/02_site_profile_%.ipynb: $(DERIVED)/sites/%.sha256 $(SITE_CODE) notebooks/02_site_profile.ipynb | $(SETUP_STAMP)
	@echo "== 02_site_profile: $*"
	$(PAPERMILL) notebooks/02_site_profile.ipynb $@.tmp.ipynb \
	  -p site $* -p data_derived "$(abspath $(DERIVED))" \
	  $(if $(MAX_JOURNEY_MAPS),-p max_journey_maps $(MAX_JOURNEY_MAPS))
	@mv $@.tmp.ipynb $@

$(SYNTH_NB): $(CLEAN_STAMP) $(SYNTH_CODE) notebooks/03_synthesis.ipynb | $(SETUP_STAMP)
	@echo "== 03_synthesis"
	$(PAPERMILL) notebooks/03_synthesis.ipynb $@.tmp.ipynb \
	  -p data_derived "$(abspath $(DERIVED))" -p variables_path "$(abspath $(VARIABLES))"
	@mv $@.tmp.ipynb $@

$(VARIABLES): $(SYNTH_NB) ;

# ---------------------------------------------------------------- reports
RENDER_CODE := $(wildcard analysis/render/*.py) $(TEMPLATES)

$(OUT)/report.%: $(REPORT_SRC) $(SITE_NBS) $(SYNTH_NB) $(VARIABLES) $(RENDER_CODE) | $(SETUP_STAMP)
	@echo "== report -> $@"
	$(RENDER) reports/report.qmd --to $*

$(OUT)/slides.html: $(SLIDES_SRC) $(SITE_NBS) $(SYNTH_NB) $(VARIABLES) $(RENDER_CODE) | $(SETUP_STAMP)
	@echo "== slides -> $@"
	$(RENDER) reports/slides.qmd --to revealjs

$(OUT)/slides.pptx: $(SLIDES_SRC) $(SITE_NBS) $(SYNTH_NB) $(VARIABLES) $(RENDER_CODE) | $(SETUP_STAMP)
	@echo "== slides -> $@"
	$(RENDER) reports/slides.qmd --to pptx

$(OUT)/briefings/%.docx: $(BRIEF_SRC) $(SYNTH_NB) $(VARIABLES) $(RENDER_CODE) | $(SETUP_STAMP)
	@echo "== briefing $* -> $@"
	$(BRIEFING) $* --to docx --engine $(ENGINE) --out $(OUT)/briefings

$(OUT)/briefings/%.pdf: $(BRIEF_SRC) $(SYNTH_NB) $(VARIABLES) $(RENDER_CODE) | $(SETUP_STAMP)
	@echo "== briefing $* -> $@"
	$(BRIEFING) $* --to pdf --engine $(ENGINE) --out $(OUT)/briefings

# A site's briefing also depends on that site's executed profile notebook.
$(foreach s,$(SITES),$(eval $(OUT)/briefings/$(s).docx $(OUT)/briefings/$(s).pdf: $(NB_OUT)/02_site_profile_$(s).ipynb))
$(OUT)/briefings/overall.docx $(OUT)/briefings/overall.pdf: $(SITE_NBS)

$(CHECK_LOG): $(REPORT_OUT) $(SLIDES_OUT) $(BRIEF_OUT) analysis/output_check.py analysis/identifiers.py | $(SETUP_STAMP)
	@echo "== output check"
	$(OUTPUT_CHECK) --outputs $(OUT)
