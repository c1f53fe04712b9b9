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
# independent stages run in parallel.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

# Parallel by default: plain `make` runs as many jobs as the machine has cores (JOBS=N to choose;
# `make -jN` on the command line wins, so `make -j1` is a serial build). Each job's output is
# held back and printed whole when its command ends (--output-sync), so the output of parallel
# stages never interleaves mid-line. Only the top-level make sets this: the recursive makes of
# the verbs below share its job slots. Interactive and long single-command goals (lab, test,
# bench) print as they go.
ifndef JOBS
JOBS := $(shell nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
endif
LIVE_GOALS := lab test test-fast bench help lock synthetic
ifeq ($(MAKELEVEL),0)
# GNU make does not show a command-line -j to the makefile while reading it, so read make's own
# arguments (Linux /proc; elsewhere JOBS=N is the way to choose).
COMMAND_LINE_JOBS := $(filter -j% --jobs%,$(shell tr '\0' '\n' < /proc/$$PPID/cmdline 2>/dev/null))
ifeq ($(COMMAND_LINE_JOBS),)
$(eval MAKEFLAGS += -j$(JOBS))
endif
ifeq ($(filter $(LIVE_GOALS),$(MAKECMDGOALS)),)
MAKEFLAGS += --output-sync=target
endif
endif

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
# VERBOSE=1: a stage that stops on bad data also shows the full traceback (analysis/tools/stage.py).
export VERBOSE

# ---------------------------------------------------------------- build lock
# One make at a time per checkout (analysis/core/buildlock.py holds .build.lock while this make
# runs); a second one stops at once with a message naming the first. Sub-makes, and the make
# calls of the tests that `make test` runs, inherit BUILD_LOCK_HELD and do not lock again.
# `make status` only reads; `make lab` takes the lock only while its build runs (in the sub-make),
# so an open JupyterLab does not block a `make` in another terminal.
BUILD_LOCK := $(CURDIR)/.build.lock
ifneq ($(BUILD_LOCK_HELD),$(BUILD_LOCK))
ifneq ($(filter-out help status lab,$(or $(MAKECMDGOALS),all)),)
BUILD_LOCK_STATUS := $(shell $(PYTHON_SYS) analysis/core/buildlock.py acquire '$(BUILD_LOCK)' --pid $$PPID)
ifneq ($(BUILD_LOCK_STATUS),ok)
$(error $(BUILD_LOCK_STATUS))
endif
export BUILD_LOCK_HELD := $(BUILD_LOCK)
endif
endif

# Stamps.
SETUP_STAMP := $(VENV)/.setup-complete
CLEAN_STAMP := $(DERIVED)/manifest.json

# Code each stage runs (a change in it reruns that stage), taken from the package's folders
# (README "Layout"), so a new module is covered the moment it is added. tests/test_makefile.py
# checks that every module a stage notebook imports (directly or not) is in its list.
py_in        = $(sort $(wildcard $(foreach d,$(1),analysis/$(d)/*.py analysis/$(d)/*/*.py)))
CORE_CODE    := analysis/__init__.py $(call py_in,core)
PROTECT_CODE := $(call py_in,protect) analysis/config/disclosure_policy.yml
# The display helpers (figures.show, show_table) every stage notebook shows its results with.
SHOW_CODE    := analysis/publish/__init__.py analysis/publish/figures.py
CONFIG       := $(wildcard analysis/config/*.csv)
# The cleaning-log summary, shown by 01_clean and quoted by the key numbers of later stages.
CLEAN_SUMMARY := analysis/clean/__init__.py analysis/clean/report.py
CLEAN_CODE   := $(CORE_CODE) $(call py_in,sources clean) $(PROTECT_CODE) $(SHOW_CODE) $(CONFIG)
SITE_CODE    := $(CORE_CODE) $(call py_in,analyse) $(PROTECT_CODE) $(SHOW_CODE) $(CONFIG) $(CLEAN_SUMMARY)
SYNTH_CODE   := $(SITE_CODE) $(call py_in,sources clean)
CHECK_CODE   := $(CORE_CODE) $(PROTECT_CODE)

SITE_NBS   := $(foreach s,$(SITES),$(NB_OUT)/02_site_profile_$(s).ipynb)
SYNTH_NB   := $(NB_OUT)/03_synthesis.ipynb
VARIABLES  := _variables.yml

RENDER     := $(PY) -m analysis.publish.render --engine $(ENGINE) --out $(OUT)
TEMPLATES  := $(wildcard reports/_templates/*) _quarto.yml
RENDER_CODE := $(CORE_CODE) analysis/publish/__init__.py $(call py_in,publish/render) $(TEMPLATES)
# a briefing renders in its own process with the renderer's code
BRIEF_CODE := $(RENDER_CODE) analysis/publish/briefings.py
REPORT_SRC := reports/report.qmd $(wildcard reports/report/*.qmd) reports/references.bib \
              reports/vancouver.csl
SLIDES_SRC := reports/slides.qmd
BRIEF_SRC  := reports/briefing.qmd
REPORT_OUT := $(OUT)/report.docx $(OUT)/report.html $(OUT)/report.pdf
SLIDES_OUT := $(OUT)/slides.html $(OUT)/slides.pptx
BRIEF_OUT  := $(foreach s,$(SITES) overall,$(OUT)/briefings/$(s).docx $(OUT)/briefings/$(s).pdf)
CHECK_LOG  := $(OUT)/output-check.csv

# Content fingerprints (analysis/core/fingerprints.py). Stages depend on one stamp per group of inputs
# instead of on the inputs' timestamps: at every start, make fingerprints the raw folder (its path
# and every file's content) and each group of code, configuration and report sources, and
# rewrites a group's stamp only when its content changed. So restoring an older export with its
# old timestamps (cp -p, rsync -t, tar -x, unzip) or checking out an older commit reruns what
# depends on it, and a touch reruns nothing. Stdlib only, run with python -S: fast enough for
# every make start (files are hashed again only when size, mtime, ctime or inode changed).
# `make status` alone fingerprints the inputs without rewriting any stamp.
FP_DIR     := $(DERIVED)/.fingerprints
# The disclosure profile (DISCLOSURE_PROFILE, empty: the policy's default) changes every protected
# table, so it is an input like the code: a one-line file, rewritten only when the profile
# differs from the last make's, that every stage's group fingerprints. Switching profile reruns
# every stage; a second make with the same profile does nothing.
PROFILE_SETTING := $(FP_DIR)/disclosure-profile.setting
$(shell mkdir -p '$(FP_DIR)' && { [ -f '$(PROFILE_SETTING)' ] && [ "$$(cat '$(PROFILE_SETTING)')" = '$(DISCLOSURE_PROFILE)' ] || printf '%s\n' '$(DISCLOSURE_PROFILE)' > '$(PROFILE_SETTING)'; })
FP_PY      := $(firstword $(wildcard $(PY)) $(PYTHON_SYS)) -S
FP_GROUPS  := --tree raw $(abspath $(DATA_RAW)) \
              --group clean_code $(CLEAN_CODE) notebooks/01_clean.ipynb $(PROFILE_SETTING) \
              --group site_code $(SITE_CODE) notebooks/02_site_profile.ipynb $(PROFILE_SETTING) \
              --group synth_code $(SYNTH_CODE) notebooks/03_synthesis.ipynb $(PROFILE_SETTING) \
              --group render_code $(RENDER_CODE) \
              --group report_src $(REPORT_SRC) \
              --group slides_src $(SLIDES_SRC) \
              --group brief_src $(BRIEF_SRC) $(BRIEF_CODE) \
              --group check_code $(CHECK_CODE) $(PROFILE_SETTING) \
              --group name_lists $(or $(subst :, ,$(NAME_LISTS)),analysis/config/name_list_synthetic.csv)
ifneq ($(MAKECMDGOALS),status)
FP_OUT     := $(shell $(FP_PY) -m analysis.core.fingerprints update --dir $(FP_DIR) $(FP_GROUPS) 2>&1; echo "fp-exit=$$?")
$(if $(filter-out fp-exit=0,$(lastword $(FP_OUT))),$(error $(filter-out fp-exit=%,$(FP_OUT))))
$(if $(filter-out fp-exit=%,$(FP_OUT)),$(info $(filter-out fp-exit=%,$(FP_OUT))))
endif
fp = $(FP_DIR)/$(1).sha256

# Stage commands (overridable: tests/test_makefile.py swaps in fast stand-ins to check the graph).
PHASE1     = $(MAKE) --no-print-directory $(CLEAN_STAMP)

# Stage runner around papermill: executed notebook moved into place only on success, a failed
# one kept as <stem>.failed.ipynb, bad data reported in <= 5 lines (analysis/tools/stage.py).
PAPERMILL  := $(PY) -m analysis.tools.stage run --cwd notebooks -k python3
BRIEFING   := $(PY) -m analysis.publish.briefings
OUTPUT_CHECK := $(PY) -m analysis.protect.output_check

# ---------------------------------------------------------------- top-level verbs
.PHONY: all help setup data analysis report slides briefings check-outputs status test test-fast \
        lab clean distclean bench lock synthetic

all: $(SETUP_STAMP) ## Build everything: data, analyses, report, slides, briefings, output check
	+@$(PHASE1)
	@$(MAKE) --no-print-directory $(CHECK_LOG)

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

setup: $(SETUP_STAMP) ## Create .venv from the pinned requirements, reveal.js, git hooks, Quarto check
	@:

data: $(SETUP_STAMP) ## Run only the data stages (cleaning) into data_derived/
	+@$(PHASE1)

analysis: $(SETUP_STAMP) ## Run the cleaning, the four site profiles and the synthesis
	+@$(PHASE1)
	@$(MAKE) --no-print-directory $(SYNTH_NB) $(SITE_NBS)

report: $(SETUP_STAMP) ## Render the NIHR report (DOCX, HTML, PDF)
	+@$(PHASE1)
	@$(MAKE) --no-print-directory $(REPORT_OUT)

slides: $(SETUP_STAMP) ## Render the practitioner-event slides (HTML, PPTX)
	+@$(PHASE1)
	@$(MAKE) --no-print-directory $(SLIDES_OUT)

briefings: $(SETUP_STAMP) ## Render the site and overall briefings (DOCX, PDF)
	+@$(PHASE1)
	@$(MAKE) --no-print-directory $(BRIEF_OUT)

check-outputs: $(SETUP_STAMP) ## Run the output check over reports/_output
	@$(MAKE) --no-print-directory $(CHECK_LOG)

status: ## Say whether reports/_output matches the raw data and code now present (exit 1 if not)
	@$(FP_PY) -m analysis.tools.build_status --dir $(FP_DIR) --log $(CHECK_LOG) --outputs $(OUT) -- $(FP_GROUPS)

test: $(SETUP_STAMP) ## Run every test (unit, notebooks, renders, browser), offline
	@$(PY) -m analysis.tools.environment system-test-deps
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider --ignore=tests/test_jupyterlab.py tests
	@echo "== JupyterLab in Chromium, on its own (its 5-second usability check needs the cores to itself)"
	$(PY) -m pytest -n 0 -p no:cacheprovider tests/test_jupyterlab.py
	@echo "== nbval: every notebook runs top to bottom on the synthetic study (scratch data_derived)"
	@scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	  DATA_RAW=$(abspath data_raw/synthetic) DATA_DERIVED=$$scratch VARIABLES_PATH=$$scratch/_variables.yml \
	  $(PY) -m pytest -p no:cacheprovider -p no:xdist --nbval-lax --nbval-current-env \
	    notebooks/01_clean.ipynb notebooks/02_site_profile.ipynb notebooks/03_synthesis.ipynb notebooks/explore.ipynb

lab: $(SETUP_STAMP) ## Open JupyterLab (loopback, token, offline) on explore.ipynb with the data ready
	@$(MAKE) --no-print-directory analysis
	@$(PY) -m analysis.tools.lab $(LAB_ARGS)

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
	rm -rf $(DERIVED)/* $(DERIVED)/.data_raw $(FP_DIR) $(OUT) $(VARIABLES) reports/.quarto .quarto

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
	@$(PY) -m analysis.tools.environment setup --revealjs $(REVEALJS_VERSION)
	@touch $@

# ---------------------------------------------------------------- data
$(CLEAN_STAMP): $(call fp,raw) $(call fp,clean_code) $(call fp,name_lists) | $(SETUP_STAMP)
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

# The content stamps are written while make reads this file (FP_OUT above), never by a rule.
$(FP_DIR)/%.sha256: ;

# ---------------------------------------------------------------- analyses
$(NB_OUT)/02_site_profile_%.ipynb: $(DERIVED)/sites/%.sha256 $(call fp,site_code) | $(SETUP_STAMP)
	@echo "== 02_site_profile: $*"
	$(PAPERMILL) notebooks/02_site_profile.ipynb $@ \
	  -p site $* -p data_derived "$(abspath $(DERIVED))" \
	  $(if $(MAX_JOURNEY_MAPS),-p max_journey_maps $(MAX_JOURNEY_MAPS))

$(SYNTH_NB): $(CLEAN_STAMP) $(call fp,synth_code) | $(SETUP_STAMP)
	@echo "== 03_synthesis"
	$(PAPERMILL) notebooks/03_synthesis.ipynb $@ \
	  -p data_derived "$(abspath $(DERIVED))" -p variables_path "$(abspath $(VARIABLES))"

$(VARIABLES): $(SYNTH_NB) ;

# ---------------------------------------------------------------- reports
# The synthesis is listed before the site profiles: make starts prerequisites in the order they
# are listed, and the synthesis is the longest stage, so it starts first and the four sites share
# the other core (longest job first: about 10 s off a clean build on 2 cores).
$(OUT)/report.%: $(call fp,report_src) $(SYNTH_NB) $(SITE_NBS) $(VARIABLES) $(call fp,render_code) | $(SETUP_STAMP)
	@echo "== report -> $@"
	$(RENDER) reports/report.qmd --to $*

$(OUT)/slides.html: $(call fp,slides_src) $(SYNTH_NB) $(SITE_NBS) $(VARIABLES) $(call fp,render_code) | $(SETUP_STAMP)
	@echo "== slides -> $@"
	$(RENDER) reports/slides.qmd --to revealjs

$(OUT)/slides.pptx: $(call fp,slides_src) $(SYNTH_NB) $(SITE_NBS) $(VARIABLES) $(call fp,render_code) | $(SETUP_STAMP)
	@echo "== slides -> $@"
	$(RENDER) reports/slides.qmd --to pptx

$(OUT)/briefings/%.docx: $(call fp,brief_src) $(SYNTH_NB) $(VARIABLES) $(call fp,render_code) | $(SETUP_STAMP)
	@echo "== briefing $* -> $@"
	$(BRIEFING) $* --to docx --engine $(ENGINE) --out $(OUT)/briefings

$(OUT)/briefings/%.pdf: $(call fp,brief_src) $(SYNTH_NB) $(VARIABLES) $(call fp,render_code) | $(SETUP_STAMP)
	@echo "== briefing $* -> $@"
	$(BRIEFING) $* --to pdf --engine $(ENGINE) --out $(OUT)/briefings

# A site's briefing also depends on that site's executed profile notebook.
$(foreach s,$(SITES),$(eval $(OUT)/briefings/$(s).docx $(OUT)/briefings/$(s).pdf: $(NB_OUT)/02_site_profile_$(s).ipynb))
$(OUT)/briefings/overall.docx $(OUT)/briefings/overall.pdf: $(SITE_NBS)

$(CHECK_LOG): $(REPORT_OUT) $(SLIDES_OUT) $(BRIEF_OUT) $(call fp,check_code) $(call fp,name_lists) | $(SETUP_STAMP)
	@echo "== output check"
	$(OUTPUT_CHECK) --outputs $(OUT)
