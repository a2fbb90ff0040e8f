"""The demo's HTML report (issue 14.7): images keep their aspect ratio, one line gives the model's
agreement verdict (the example's intent is labelled as such), evidence shows whole words."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from multimodal_sentiment.demo.examples import draw_card
from multimodal_sentiment.demo.run import evidence_words, format_table, write_html_report


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images: list[dict] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        self._in_style = tag == "style"

    def handle_data(self, data):
        if self._in_style:
            self.style += data


def _rows(tmp_path):
    card = tmp_path / "weekend.png"
    draw_card("Rain all weekend", (70, 90, 120)).save(card)  # 640 x 360
    tall = tmp_path / "tall.png"
    draw_card("Hi", (0, 0, 0), size=(200, 400)).save(tall)
    evidence = [
        {"token": "excited", "word": "excited", "weight": 0.9, "modality": "text", "position": 3},
        {"token": "week", "word": "weekend", "weight": 0.5, "modality": "text", "position": 6},
        {"token": "##end", "word": "weekend", "weight": 0.3, "modality": "text", "position": 7},
        {"token": "rain", "word": "rain", "weight": 0.6, "modality": "description", "position": 11},
        {"token": "week", "word": "weekend", "weight": 0.2, "modality": "description", "position": 13},
        {"token": "##end", "word": "weekend", "weight": 0.1, "modality": "description", "position": 14},
    ]
    base = {"scores": {"negative": 0.2, "neutral": 0.1, "positive": 0.7}, "image_description": "RAIN ALL WEEKEND"}
    return [
        {
            **base,
            "name": "weekend",
            "text": "So excited for the weekend!",
            "image": str(card),
            "note": "text and image conflict",
            "label": "positive",
            "score": 0.7,
            "evidence": [e["word"] for e in evidence_words(evidence)],
            "evidence_detail": evidence,
            "agreement": False,
            "text_only": {"label": "positive"},
            "description_only": {"label": "negative"},
        },
        {
            **base,
            "name": "tall",
            "text": None,
            "image": str(tall),
            "note": "",
            "label": "neutral",
            "score": 0.5,
            "evidence": [],
            "evidence_detail": [],
            "agreement": None,
            "text_only": None,
            "description_only": {"label": "neutral"},
        },
    ]


def test_evidence_pieces_merge_into_whole_words_per_modality():
    words = evidence_words(_rows_evidence())
    assert [(w["word"], w["modality"]) for w in words] == [
        ("excited", "text"),
        ("weekend", "text"),
        ("rain", "description"),
        ("weekend", "description"),
    ]
    assert words[1]["weight"] == 0.8  # 0.5 + 0.3: both pieces of "weekend"
    assert abs(words[3]["weight"] - 0.3) < 1e-9


def _rows_evidence():
    return [
        {"token": "excited", "word": "excited", "weight": 0.9, "modality": "text", "position": 3},
        {"token": "week", "word": "weekend", "weight": 0.5, "modality": "text", "position": 6},
        {"token": "##end", "word": "weekend", "weight": 0.3, "modality": "text", "position": 7},
        {"token": "rain", "word": "rain", "weight": 0.6, "modality": "description", "position": 11},
        # A tokenizer without word alignment (word None): adjacent pieces are glued.
        {"token": "week", "word": None, "weight": 0.2, "modality": "description", "position": 13},
        {"token": "##end", "word": None, "weight": 0.1, "modality": "description", "position": 14},
    ]


def test_report_keeps_aspect_ratio_states_one_verdict_and_shows_words(tmp_path):
    rows = _rows(tmp_path)
    page = write_html_report(rows, tmp_path / "report.html", "note").read_text()
    tags = _Tags()
    tags.feed(page)
    sizes = [(int(i["width"]), int(i["height"])) for i in tags.images]
    assert sizes == [(320, 180), (320, 640)]  # 640x360 and 200x400, scaled, never stretched
    style = re.sub(r"\s+", "", tags.style)
    assert "align-items:flex-start" in style and "height:auto" in style  # flex never stretches the image
    weekend = page[page.index("id='weekend'") : page.index("id='tall'")]
    assert weekend.count("Model: ") == 1
    assert "Model: text and image disagree (text alone: positive, image alone: negative)" in weekend
    assert "<b>Intended by this example:</b> text and image conflict" in weekend
    assert "agree<" not in weekend and "DISAGREE" not in weekend  # no second, contradicting line
    assert "##" not in page
    assert "weekend<small> text</small>" in weekend and "weekend<small> description</small>" in weekend
    assert "rain<small> description</small>" in weekend
    tall = page[page.index("id='tall'") :]
    assert "Model: one modality only" in tall and "Intended by this example" not in tall
    assert "weekend" in format_table(rows) and "##" not in format_table(rows)
