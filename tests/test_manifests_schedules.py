"""The PingSources: the agreed local times, one time zone written once, and a sink for every tick."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable

import pytest
from cronsim import CronSim

from tests.support.manifests import (
    NAMESPACE,
    ROOT,
    SCHEDULES,
    TIMEZONE,
    Obj,
    by_name,
    load_yaml_documents,
    ns_of,
    of_kind,
    rendered,
    schedule_problems,
    sink_problems,
)


def test_pingsources_fire_at_the_agreed_local_times() -> None:
    objects = rendered("knative")
    assert schedule_problems(objects) == []
    sources = of_kind(objects, "PingSource")
    assert sources
    for source in sources:
        zoneinfo.ZoneInfo(source["spec"]["timezone"])
        CronSim(source["spec"]["schedule"], datetime.datetime(2026, 3, 8))


def test_time_zone_and_schedules_are_written_in_one_place() -> None:
    """Changing the zone is one edit: it is spelled once, in the file that holds all three schedules."""
    manifests = [p for p in (ROOT / "knative").rglob("*.yaml")]
    holders = [p for p in manifests if TIMEZONE in p.read_text()]
    assert [p.relative_to(ROOT).as_posix() for p in holders] == ["knative/base/pingsources.yaml"]
    text = holders[0].read_text()
    assert text.count(TIMEZONE) == 1
    assert all(text.count(f'"{schedule}"') == 1 for schedule in SCHEDULES.values())
    # And a plain YAML reader (the local stack) sees the same values as kustomize.
    plain = load_yaml_documents(holders[0])
    assert schedule_problems(plain) == []


def test_every_pingsource_sinks_to_its_own_function() -> None:
    objects = rendered("knative")
    assert sink_problems(objects) == []
    sources = of_kind(objects, "PingSource")
    assert sources
    for source in sources:
        ref = source["spec"]["sink"]["ref"]
        assert (ref["kind"], ref["name"]) == ("Service", source["metadata"]["name"])
        assert ns_of(source) == NAMESPACE


@pytest.mark.parametrize(
    "mutate",
    [
        lambda o: by_name(o, "PingSource")["colorloop"]["spec"]["sink"]["ref"].update({"name": "color-loop"}),
        lambda o: by_name(o, "PingSource")["lights-on"]["spec"]["sink"]["ref"].update({"apiVersion": "v1"}),
        lambda o: by_name(o, "PingSource")["lights-off"]["spec"].update({"timezone": "Europe/Berlin"}),
        lambda o: by_name(o, "PingSource")["lights-off"]["spec"].update({"schedule": "30 10 * * *"}),
        lambda o: by_name(o, "PingSource")["lights-on"]["spec"].pop("contentType"),
    ],
    ids=["sink-name", "sink-api-version", "timezone", "schedule", "content-type"],
)
def test_pingsource_checks_catch_broken_sources(mutate: Callable[[list[Obj]], None]) -> None:
    objects = rendered("knative")
    mutate(objects)
    assert sink_problems(objects) + schedule_problems(objects)
