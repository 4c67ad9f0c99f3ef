#!/usr/bin/env bash
# Create (or refresh) one virtualenv per peer authenticator used by bench/run.py.
#
# Idempotent: an existing venv is reused and pip only installs what is missing.
# Environment:
#   BENCH_VENVS  directory holding the peer venvs (default: bench/.bench-venvs)
#   PYTHON       interpreter used to create the venvs (default: python3)
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="${BENCH_VENVS:-${bench_dir}/.bench-venvs}"
python="${PYTHON:-python3}"

# venv name -> pip requirement(s). Pins keep the numbers comparable between runs.
declare -A peers=(
    [softwebauthn]="soft-webauthn==0.1.4"
    [softfido2]="soft-fido2==0.4.56"
)

mkdir -p "${venvs}"
for name in "${!peers[@]}"; do
    venv="${venvs}/${name}"
    if [[ ! -x "${venv}/bin/python" ]]; then
        echo "setup: creating ${venv}"
        "${python}" -m venv "${venv}"
    fi
    # shellcheck disable=SC2086  # word splitting of the requirement list is intended
    "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check ${peers[${name}]}
    echo "setup: ${name} ready ($("${venv}/bin/python" -m pip freeze --disable-pip-version-check \
        | tr '\n' ' '))"
done
