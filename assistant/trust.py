"""Assistant stage: prefer resources whose provenance is confirmed (a post-step on any ranking)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ingest.catalog import Catalog

# Two results are "of similar relevance" when their scores differ by less than this share of the
# best score. Half of what one shared topic adds in ranking (`Weights.topic` = 0.3 on a 0..1
# retrieval scale): a gap that small says less about fit than a doubtful provenance does.
SIMILAR = 0.15


def prefer_verified(
    ranked: Sequence[tuple[str, float]],
    catalog: Catalog,
    named: Collection[str] = (),
    study_order: bool = False,
) -> list[tuple[str, float]]:
    """The same (resource id, score) pairs, reordered by provenance; nothing is dropped.

    An unverified resource (only the affiliate page names it, or no record confirms it) or a
    vendor's own product moves behind the verified ones that follow it within `SIMILAR` of its
    score, and a vendor's product never leads. Whatever the user named keeps its place. A list
    in `study_order` (a learning path, ordered by level rather than score) only loses a vendor
    lead: moving items by score there would put advanced reading before the basics.
    """
    doubtful = {
        rid
        for rid, _ in ranked
        if rid not in named
        and (resource := catalog.resources.get(rid)) is not None
        and (not resource.verified or resource.vendor)
    }
    margin = SIMILAR * (max((abs(s) for _, s in ranked), default=0.0) or 1.0)
    out = list(ranked)
    for i in range(len(out) - 1, -1, -1):  # from the end, so each moves once
        rid, score = out[i]
        if study_order or rid not in doubtful:
            continue
        j = i
        while j + 1 < len(out) and out[j + 1][0] not in doubtful:
            if out[j + 1][1] + margin < score:  # clearly less relevant: stop here
                break
            j += 1
        out.insert(j, out.pop(i))
    vendor = {rid for rid in doubtful if catalog.resources[rid].vendor}
    lead = next((i for i, (rid, _) in enumerate(out) if rid not in vendor), 0)
    if lead:  # the first place goes to the first item that is not a vendor's product
        out.insert(0, out.pop(lead))
    return out
