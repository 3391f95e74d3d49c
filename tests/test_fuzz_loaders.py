"""Random files the user might write: the map and schedule readers answer with a HarnessError, never a crash.

Hypothesis builds YAML from the readers' own vocabulary (so the examples get past the first key
and reach the checks deep inside), plus random text and bytes. Derandomized so `make test` tries
the same 2,000 examples on every machine: a fuzz test must not make CI flaky.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError, MapError
from harness.map.loading import load_map_text
from harness.map.user_yaml import MAX_BYTES, MAX_DEPTH
from harness.ops.schedule_file import KEYS as SCHEDULE_KEYS
from harness.ops.schedule_file import load_schedule

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
MAP_WORDS = [
    *("journey", "version", "segments", "stages", "id", "name", "touchpoints", "channel", "owner", "url"),
    *("expect", "within", "fail_after", "success_rate", "emotion", "moment_of_truth", "subject", "code"),
    *("web", "email", "form", "/pricing", "2s", "10m", "0", "-3", "+2", "1.5", "yes", "self-serve"),
    *("max_messages", "first_value_within", "milestone", "from", "body", "(", "~", "<<", "&a", "*a"),
]
SCALARS = st.one_of(
    st.sampled_from(MAP_WORDS),
    st.text(max_size=12),
    st.integers(-10, 10**6),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
)


def documents(words: list[str]) -> st.SearchStrategy[Any]:
    keys = st.one_of(st.sampled_from(words), st.text(max_size=8))
    return st.recursive(
        SCALARS | st.sampled_from(words),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=25,
    )


def as_yaml(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def only_harness_errors(read: Any, text: str) -> None:
    try:
        read(text)
    except HarnessError as exc:
        sentence = str(exc)
        assert sentence.strip() and "\n" not in sentence.strip(), sentence
        assert "Traceback" not in sentence


@settings(FUZZ, max_examples=700)
@given(documents(MAP_WORDS))
def test_random_maps_are_read_or_refused_in_one_sentence(document: Any) -> None:
    only_harness_errors(load_map_text, as_yaml(document))


@settings(FUZZ, max_examples=500)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace"))))
def test_random_text_as_a_map_is_read_or_refused(text: str) -> None:
    only_harness_errors(load_map_text, text)


@settings(FUZZ, max_examples=500)
@given(documents([*SCHEDULE_KEYS, "5m", ":15", "09:00", "http://127.0.0.1:1/", "UTC", "m.yaml", "f"]))
def test_random_schedule_files_are_read_or_refused(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "schedule.yaml"

    def read(text: str) -> None:
        path.write_text(text, encoding="utf-8")
        load_schedule(path)

    only_harness_errors(read, as_yaml(document))


@settings(FUZZ, max_examples=300)
@given(st.text(max_size=300))
def test_random_text_as_a_schedule_is_read_or_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "schedule.yaml"

    def read(value: str) -> None:
        path.write_text(value, encoding="utf-8", errors="surrogatepass")
        load_schedule(path)

    only_harness_errors(read, text)


def test_deep_nesting_is_refused_with_its_limit() -> None:
    block = "journey: x\nstages:\n" + "".join("  " * n + "- \n" for n in range(80))
    for text in ("[" * 5000 + "]" * 5000, block):
        try:
            load_map_text(text)
        except MapError as exc:
            assert f"nests deeper than {MAX_DEPTH} levels" in exc.message
        else:
            raise AssertionError("a 5,000-deep map was accepted")


def test_a_huge_map_is_refused_before_it_is_parsed() -> None:
    text = "journey: x\n" + "# padding\n" * (MAX_BYTES // 10 + 1)
    try:
        load_map_text(text)
    except MapError as exc:
        assert "a map may be at most 2 MB" in exc.message
    else:
        raise AssertionError("a map over the limit was accepted")


def test_a_billion_laughs_map_is_refused_quickly_not_expanded() -> None:
    lines = ['a0: &a0 ["lol"]'] + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 12)]
    # Nothing here is a map; what matters is that the reader answers instead of expanding 9^11 nodes.
    try:
        load_map_text("\n".join(lines))
    except MapError as exc:
        assert exc.message
