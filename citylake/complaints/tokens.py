"""Chinese word segmentation for the complaint summaries (jieba, dictionary in the package)."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from functools import lru_cache
from typing import Any

_PUNCT = re.compile(r"^[\s\W\d_]+$")


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    # jieba caches its prefix dictionary as a file; keep it out of shared /tmp names.
    tokenizer.tmp_dir = os.environ.get("CITYLAKE_JIEBA_CACHE", tempfile.gettempdir())
    tokenizer.cache_file = "citylake-jieba.cache"
    tokenizer.initialize()
    return tokenizer


def words(text: str) -> list[str]:
    """The summary's words, punctuation and bare numbers dropped (house numbers vary)."""
    return [w for w in _tokenizer().lcut(text or "") if not _PUNCT.match(w)]
