from curation.pipeline.dedup import exact_dedup, near_dedup, normalise
from curation.pipeline.example import Example

BASE = ("When the nightly integration build failed because the dependency cache was stale after the lockfile "
        "changed, I cleared the cache directory, pinned the resolver version and reran the whole pipeline. "
        "Afterwards I added a cache key that includes the lockfile hash so that the next change invalidates it "
        "automatically, and documented the fix in the runbook for the on-call engineers")


def ex(pk, text, when, kind="lesson"):
    return Example(kind=kind, id=pk, ref=f"r{pk}", occurred_at=when, instruction=text, output="Rebuilt it.")


def near(**kwargs):
    return near_dedup(kwargs.pop("items"), threshold=kwargs.get("threshold", 0.8), num_perm=128, shingle_words=3)


def test_normalise_ignores_case_and_whitespace():
    assert normalise("  Hello\n\tWORLD  ") == "hello world"


def test_exact_dedup_keeps_the_newest_of_each_group():
    old, new, other = ex(1, "Same  TEXT here", 100.0), ex(2, "same text\nhere", 200.0), ex(3, "different", 150.0)
    kept, dropped = exact_dedup([old, new, other])
    assert {e.id for e in kept} == {2, 3}
    assert [(d[0].id, d[1], d[2]["id"]) for d in dropped] == [(1, "exact_duplicate", 2)]


def test_near_dedup_collapses_a_cluster_to_its_newest_member():
    variants = [BASE, BASE + " again", BASE.replace("engineers", "engineer"), BASE + " twice."]
    items = [ex(i + 1, text, float(t)) for i, (text, t) in enumerate(zip(variants, [10, 40, 20, 30], strict=True))]
    unrelated = ex(9, "Rotated the TLS certificates on the staging load balancer and verified expiry alerts", 5.0)
    kept, dropped = near(items=items + [unrelated])
    assert {e.id for e in kept} == {2, 9}  # id 2 is the newest of the cluster
    assert {d[0].id for d in dropped} == {1, 3, 4}
    assert all(d[1] == "near_duplicate" and d[2]["id"] == 2 for d in dropped)


def test_near_dedup_keeps_examples_below_the_threshold():
    first = ex(1, BASE, 1.0)
    second = ex(2, " ".join(reversed(BASE.split())), 2.0)  # same words, different shingles
    kept, _ = near(items=[first, second])
    assert {e.id for e in kept} == {1, 2}


def test_a_lower_threshold_collapses_looser_variants():
    loose = BASE.replace("nightly integration", "weekly release").replace("reran the whole pipeline", "tried again")
    items = [ex(1, BASE, 1.0), ex(2, loose, 2.0)]
    assert len(near(items=items, threshold=0.95)[0]) == 2
    assert [e.id for e in near(items=items, threshold=0.3)[0]] == [2]


def test_near_dedup_is_deterministic():
    items = [ex(i, f"{BASE} variant {i % 7}", float(i)) for i in range(40)]
    first = [e.id for e in near(items=items)[0]]
    assert first == [e.id for e in near(items=list(reversed(items)))[0]]
