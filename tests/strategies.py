"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

# Text an outsider might send: short names, long names, odd code points and
# lone surrogates, which cannot be encoded as UTF-8.
symbol_texts = st.one_of(
    st.sampled_from(["a", "b", "c", "open", "close", "x" * 255, "é", "日本"]),
    st.text(min_size=0, max_size=8),
    st.text(min_size=250, max_size=260),
    st.sampled_from(["\ud800", "a\udfff", ""]),
)

# Keys for a registry: strings, and numbers and tuples that compare equal across
# types (1, 1.0, True), including ints that share one CPython hash.
registry_keys = st.one_of(
    st.sampled_from(["alice", "bob", "carol"]),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([1.0, 2.5, True, False]),
    st.sampled_from([(2**61 - 1) * n for n in range(1, 4)]),
    st.tuples(st.sampled_from(["room", "cart"]), st.integers(0, 2)),
)

group_names = st.sampled_from(["room:1", "room:2", ("tenant", 1)])
member_values = st.sampled_from(["m1", "m2", "m3", "m4", "m5"])

# Operations on a supervisor tree: each is a tuple whose first item names it.
quota_keys = st.one_of(st.none(), st.sampled_from(["10.0.0.1", "10.0.0.2", 7, 7.0]))
supervisor_ops = st.lists(
    st.one_of(
        st.tuples(st.just("spawn"), st.sampled_from(["root", "nested"]), quota_keys),
        st.tuples(st.just("stop"), st.integers(0, 30)),
        st.tuples(st.just("crash"), st.integers(0, 30)),
        st.tuples(st.just("tell"), st.integers(0, 30)),
        st.tuples(st.just("advance"), st.sampled_from([0.0, 0.1, 0.5, 2.0])),
        st.tuples(st.just("close_nested")),
    ),
    min_size=1,
    max_size=40,
)
