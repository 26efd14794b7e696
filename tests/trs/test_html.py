"""The HTML report: self-contained, accessible, escaped, translated, the study's numbers."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import polars as pl
import pytest

from smartcustoms.trs import Study, StudyParams, run_study
from smartcustoms.trs import labels as words
from smartcustoms.trs.charts import heatmap_svg, histogram_svg, nice_ceiling, stages_svg
from smartcustoms.trs.columns import TRANSPORT_MODES
from smartcustoms.trs.html import render_html, render_sections
from tests.trs.fixture import AS_OF, ATTRIBUTES, events


@pytest.fixture(scope="module")
def study() -> Study:
    return run_study(events(), ATTRIBUTES, StudyParams(as_of=AS_OF))


class Outline(HTMLParser):
    """Counts elements and collects external references and SVG titles."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.external: list[str] = []
        self.svgs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        values = dict(attrs)
        for key in ("src", "href"):
            if values.get(key):
                self.external.append(str(values[key]))
        if tag == "svg":
            self.svgs.append(values)


def test_the_report_is_one_self_contained_document(study: Study) -> None:
    page = render_html(study)
    outline = Outline()
    outline.feed(page)
    assert outline.external == []  # no stylesheet, script, font or image to fetch
    assert "script" not in outline.tags
    assert outline.tags["svg"] == 4
    for svg in outline.svgs:
        assert svg["role"] == "img"
        title, desc = str(svg["aria-labelledby"]).split()
        assert f'<title id="{title}">' in page and f'<desc id="{desc}">' in page
    assert len(set(re.findall(r'id="([^"]+)"', page))) == len(re.findall(r'id="', page))


def test_the_report_shows_the_studys_figures(study: Study) -> None:
    page = render_html(study)
    assert "6.23 h" in page  # the mean release time, 374 minutes
    assert "Arrival to release, mean of 5 consignments; median 1.83 h." in page
    for reason in words.EXCLUSIONS.values():
        assert f"{reason}: 1" in page
    assert "C3" in page and "Other-agency hold (20.00 h)" in page  # the outlier
    assert '<th scope="row">XI</th>' in page and '<th scope="row">4 air</th>' in page
    # every chart's numbers are in a table beside it
    assert page.count("<details>") == 4


def test_values_from_the_data_are_escaped() -> None:
    evil = events().with_columns(
        pl.when(pl.col("office") == "A")
        .then(pl.lit("<script>x</script>"))
        .otherwise("office")
        .alias("office")
    )
    page = render_html(run_study(evil, None, StudyParams(as_of=AS_OF)))
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


def test_every_word_goes_through_the_translation(study: Study) -> None:
    seen: set[str] = set()

    def shout(text: str) -> str:
        seen.add(text)
        parts = re.split(r"(%\([a-z_]+\)s)", text)  # placeholders stay as they are
        return "".join(p if p.startswith("%(") else p.upper() for p in parts)

    page = render_html(study, translate=shout, lang="fr")
    assert '<html lang="fr">' in page
    assert "AVERAGE RELEASE TIME" in page and "QUEUE FOR PHYSICAL INSPECTION" in page
    assert "MONDAY" in page and "4 AIR" in page
    assert seen >= {words.STAGES[s] for s in words.STAGES}


def test_labels_cover_every_code() -> None:
    assert set(words.MODES) == set(TRANSPORT_MODES)
    assert all(words.MODES[k] == v for k, v in TRANSPORT_MODES.items())
    assert len(set(words.ALL_LABELS)) > 60


def test_charts_on_an_empty_study() -> None:
    empty = run_study(events().head(0), None, StudyParams())
    for chart in (histogram_svg, stages_svg, heatmap_svg):
        svg = chart(empty)
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<table>" in render_sections(empty)


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (3, 5), (7.5, 10), (12, 20), (2400, 2500), (0.03, 0.05)]
)
def test_axis_ends(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)
