#!/usr/bin/env bash
# Makes every figure under docs/ that README.md shows, with the code itself. The README's own
# commands write to the current directory instead, so following them never changes these files.
#   bash docs/make_figures.sh            (uses .venv/bin/python, or $PYTHON)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg

for script in generate_samples choose_centroids kmeans_step kmeans_iterate; do
    "$python" "$script.py" --save "docs/$script.png" > /dev/null
done
"$python" -m tfkmeans --data data/iris.csv --init k-means++ --tolerance 0 --iterations 100 --save docs/iris.png > /dev/null
"$python" -m tfkmeans --data data/iris.csv --n-clusters 2:10 --init k-means++ --save docs/iris_sweep.png > /dev/null
"$python" -m tfkmeans --iterations 6 --animate docs/kmeans.gif --save "$scratch/last.png" > /dev/null
echo "figures written to docs/"
