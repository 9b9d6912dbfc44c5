"""Leak-free validation splits for text: a text contained in another keeps its side of the split.

Some corpora hold texts inside texts: SST-2's training set is 67k phrases cut from 7k sentences.
A random split then validates on phrases of sentences the model trained on, and the search
rewards memorising n-grams (a TF-IDF model scores 0.93 on such a split of SST-2 and 0.83 on its
dev sentences). Here each text that is a strict part of a longer one (a run of its words) joins
that text's group, the longest holding it, and the split keeps groups whole. Exact repeats are
not grouped: a message that arrives twice (SMS spam templates: 7% of that set) is part of what a
model will meet again, so they split like any other rows.
"""

from __future__ import annotations

import numpy as np

from automl_text.tokenize import words

MAX_PHRASE = 64  # longest contained run of words looked for (tokens)
MAX_LOOKUPS = 30_000_000  # above this, nothing is grouped (and the notes say so)


def containment_groups(texts: np.ndarray) -> tuple[np.ndarray, str]:
    """A group id per text, and a note on how the groups were found."""
    tokens = [tuple(words(t)) for t in texts]
    rows: dict[tuple[str, ...], list[int]] = {}
    for i, t in enumerate(tokens):
        rows.setdefault(t, []).append(i)
    group = np.full(len(tokens), -1, dtype=np.int64)
    lengths = sorted({len(t) for t in rows if 0 < len(t) <= MAX_PHRASE})
    # an upper bound of the lookups: every run shorter than its text, of a length some text has
    work = sum(len(t) * sum(n < len(t) for n in lengths) for t in rows)
    contained = work <= MAX_LOOKUPS
    for t in sorted(rows, key=len, reverse=True):  # longest first: containers before contents
        members = rows[t]
        if group[members[0]] >= 0:  # inside a longer text: its runs were looked up there
            continue
        group[members] = members  # repeats of a text are rows of their own
        root = members[0]
        if not contained:
            continue
        for n in lengths:
            if n >= len(t):
                break
            for a in range(len(t) - n + 1):
                inner = rows.get(t[a : a + n])
                if inner is not None and group[inner[0]] < 0:
                    group[inner] = root
    n_joined = int(len(tokens) - len(np.unique(group)))
    how = "contained in a longer text" if contained else "none: corpus too large to look"
    return group, f"{n_joined} text(s) share a group ({how}) and stay on one side of the split"
