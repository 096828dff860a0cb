#!/usr/bin/env bash
# `make test-cluster`: the tests marked `cluster` against real services, on this machine alone.
# Installs what is missing (SLURM and munge through apt-get, as root; the Ray extra through pip),
# starts a one-node SLURM (unless one from slurm.sh is up already), runs the tests (the Ray test
# starts and stops its own head on 127.0.0.1), and stops what it started, also on failure.
#   bash scripts/cluster/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${PYTHON:-.venv/bin/python}

if ! "$py" -c "import ray, hydra_plugins.hydra_ray_launcher" 2>/dev/null; then
  echo "test.sh: installing the Ray extra (pip install -e '.[ray]')" >&2
  "$py" -m pip install --quiet -e '.[ray]'
fi

if bash scripts/cluster/slurm.sh status >/dev/null 2>&1; then
  echo "test.sh: using the SLURM cluster that is up already (left running)" >&2
else
  trap 'bash scripts/cluster/slurm.sh down' EXIT
fi
eval "$(bash scripts/cluster/slurm.sh up)"  # export SLURM_CONF=...

"$py" -m pytest -m cluster "$@"
