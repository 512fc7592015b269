#!/usr/bin/env bash
# The demo behind `make demo`: a small simulation repository, a spec, and gitgrid's main job on it.
# Set DEMO_DIR to choose where the repository is made (default: ./demo-output, replaced on each run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
demo=${DEMO_DIR:-$PWD/demo-output}
rm -rf "$demo" && mkdir -p "$demo"
cd "$demo"
export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-gitgrid demo} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-demo@example.org}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-gitgrid demo} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-demo@example.org}
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

git init -q -b master
cp "$here/demo/model.py" "$here/demo/sim.py" "$here/demo/spec.yaml" .
git add model.py sim.py && git commit -q -m "a small simulation"

step cat spec.yaml
step gitgrid create --dry-run spec.yaml
step gitgrid create --branch master spec.yaml
echo; echo "\$ gitgrid list | head -3   # one full commit id a line, in point order"
gitgrid list | head -3
step gitgrid list --format tsv --where 'param2 * -param3 <= 10'
step gitgrid show
step git log --oneline -3 "$(gitgrid list | tail -1)"
step git status --short
step gitgrid run -j 2 --watch loss -- python3 sim.py
step gitgrid results --sort loss --best 10
step gitgrid status
echo; echo "demo repository: $demo (run directories in $demo/.gitgrid/runs)"
echo "see it all: open the report below in a browser, or run 'gitgrid -C $demo dashboard'"
step gitgrid report -o report.html
