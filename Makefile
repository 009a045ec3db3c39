# The course's two commands (each sets itself up: see tools/setup.sh):
#   make course   run every notebook headlessly (real CPU course) into build/notebooks/
#   make test     run the whole test suite: unit tests + every notebook in smoke mode
# Extra arguments: make course ARGS="--smoke"    make test ARGS="-k landmarks"
ARGS ?=

.PHONY: course test strip clean
course:
	PY=$$(tools/setup.sh) && $$PY -m fewshot_lib course --out build/notebooks $(ARGS)

test:
	PY=$$(tools/setup.sh) && OMP_NUM_THREADS=1 $$PY -m pytest -n 2 --dist loadfile $(ARGS)

strip:  # remove outputs from every committed notebook
	PY=$$(tools/setup.sh) && $$PY tools/strip_outputs.py notebooks

clean:
	rm -rf build runs notebooks/runs
