"""File helpers shared by the reference scripts in this folder (standard library only)."""

import gzip
import json
import os
import tempfile


def atomic_write(path, data):
    """Write bytes to path through a temporary file in the same folder: fsync, then rename,
    so a reader never sees a partial golden file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_jsonl(path):
    """Read a JSON-lines file, plain or gzipped (path.gz is tried if path is absent)."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def doc_text(doc):
    """BEIR's corpus convention: (title + " " + text).strip()."""
    return (doc.get("title", "") + " " + doc["text"]).strip()
