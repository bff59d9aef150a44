"""The profiles (smoke, nightly, full) and what a rig leaves out, as rules over collected tests.

Profiles nest: smoke is in nightly, nightly in full. A test's profile is the smallest one a
``@pytest.mark.profile(name)`` marker gives it (``cases=[ids]`` limits the marker to those
parametrized cases, see :func:`case_matches`), otherwise ``full`` for a ``slow`` test and
``nightly`` for the rest. One test checking each requirement of :data:`SMOKE_BY_REQUIREMENT`
(the DTLS handshake; the document's example if one checks it) joins smoke without a marker.
The rules read a test only through its markers, node id and path, so they need no pytest:
``fixtures/profiles.py`` applies them in the collection hooks.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # the rules take pytest's items, but any object with the same methods will do
    from pytest import Item

PROFILES = ("smoke", "nightly", "full")
RANK = {name: rank for rank, name in enumerate(PROFILES)}
#: One test of each of these requirements is in smoke even without a marker (if collected).
SMOKE_BY_REQUIREMENT = ("DTLS-HANDSHAKE",)


class ProfileError(ValueError):
    """A profile marker that names no profile; the message names the test."""


def requirements(item: Item) -> set[str]:
    """The requirement ids of a test's ``req`` markers."""
    return {str(a) for m in item.iter_markers("req") for a in m.args}


def case_matches(case_id: str, case: str) -> bool:
    """``case`` is the whole id, or the id without ids of other parameters before or after it
    (a fixture parameter such as the transport: ``udp-port-0-rejected`` matches ``port-0-rejected``)."""
    return (case_id == case or case_id.startswith(case + "-") or case_id.endswith("-" + case)
            or f"-{case}-" in case_id)


def marked_profile(item: Item) -> str | None:
    """The smallest profile a profile marker puts this test in (None: no marker applies)."""
    best: str | None = None
    for mark in item.iter_markers("profile"):
        name = str(mark.args[0]) if mark.args else ""
        if name not in RANK:
            raise ProfileError(f"{item.nodeid}: profile marker with {name!r}; "
                               f"a profile is one of {', '.join(PROFILES)}")
        cases = mark.kwargs.get("cases")
        if cases is not None:
            callspec = getattr(item, "callspec", None)
            if callspec is None or not any(case_matches(callspec.id, case) for case in cases):
                continue
        if best is None or RANK[name] < RANK[best]:
            best = name
    return best


def assign_profiles(items: Iterable[Item]) -> dict[str, str]:
    """nodeid -> the smallest profile that includes the test."""
    items = list(items)
    profiles: dict[str, str] = {}
    for item in items:
        profiles[item.nodeid] = marked_profile(item) or ("full" if item.get_closest_marker("slow") else "nightly")
    for requirement in SMOKE_BY_REQUIREMENT:
        checking = [i for i in items if requirement in requirements(i)]
        if checking and not any(profiles[i.nodeid] == "smoke" for i in checking):
            # the document's own example (an EX- requirement) first, else the first collected
            candidates = sorted((i for i in checking if profiles[i.nodeid] == "nightly"),
                                key=lambda i: not any(r.startswith("EX-") for r in requirements(i)))
            if candidates:
                profiles[candidates[0].nodeid] = "smoke"
    return profiles


def in_profile(assigned: str, profile: str) -> bool:
    return RANK[assigned] <= RANK[profile]


def excluded_by(item: Item, names: list[str]) -> str | None:
    """The exclusion (a suite module or a marker) that leaves this test out, if any."""
    module = item.path.stem
    for name in names:
        if name == module or item.get_closest_marker(name) is not None:
            return name
    return None
