"""The web demo: page logic, the Space export, the served app on 127.0.0.1, and a real browser
(Debian's Chromium + chromedriver, driven by Selenium) uploading an image with words on it."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import socket
import tempfile
import urllib.request
from pathlib import Path

import pytest
from helpers import tiny_era_classifier
from skip_policy import optional_module, skip_optional
from transformers import pipeline

from multimodal_sentiment import MultimodalSentimentPipeline
from multimodal_sentiment.demo.examples import EXAMPLE_POSTS, draw_card
from multimodal_sentiment.serve import command, gradio_app
from multimodal_sentiment.serve.gradio_app import COLORS

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BROWSER_SETUP = "`make browser-deps`, as CI does: apt-get install chromium chromium-driver; pip install -e '.[serve]' selenium"


def test_highlight_tags_whole_words_of_the_right_part():
    evidence = [
        {"token": "hate", "word": "hate", "modality": "description"},
        {"token": "##days", "word": "Mondays", "modality": "description"},
        {"token": "desk", "word": "desk", "modality": "text"},
    ]
    assert gradio_app.highlight("Back at the desk!", evidence, "text") == [
        ("Back", None), (" ", None), ("at", None), (" ", None), ("the", None), (" ", None), ("desk", "text"), ("!", None)
    ]
    # A word-piece ("##days") marks its whole word; a text-only evidence word is not marked in the description.
    assert gradio_app.highlight("I hate Mondays desk", evidence, "description") == [
        ("I", None), (" ", None), ("hate", "description"), (" ", None), ("Mondays", "description"), (" ", None),
        ("desk", None),
    ]
    assert gradio_app.highlight(None, evidence, "text") == []


def test_classify_post_shows_label_scores_description_evidence_and_agreement(tiny_era_dir):
    classifier = pipeline(
        "multimodal-sentiment", model=str(tiny_era_dir), pipeline_class=MultimodalSentimentPipeline, device="cpu"
    )
    shown = gradio_app.classify_post(classifier, None, "Back at the desk at 7am", "I hate Mondays")
    direct = classifier(
        {"text": "Back at the desk at 7am", "image_description": "I hate Mondays"},
        return_evidence=True,
        return_modalities=True,
    )
    assert shown["label"] == direct["label"] and shown["scores"] == direct["scores"]
    assert shown["image_description"] == "I hate Mondays"
    marked = [(piece, tag) for piece, tag in shown["evidence"] if tag]
    expected = {(e["word"], e["modality"]) for e in direct["evidence"] if e["modality"] in ("text", "description")}
    assert {(piece.lower(), tag) for piece, tag in marked} == {(w.lower(), m) for w, m in expected}
    assert shown["agreement"].startswith(f"Text only: **{direct['text_only']['label']}**")
    assert shown["agreement"].endswith({True: "agree", False: "**disagree**"}[direct["agreement"]])
    with pytest.raises(ValueError, match="Give the post a text, an image, or an image description"):
        gradio_app.classify_post(classifier, None, "  ", "")


def test_write_space_is_ready_to_push_and_does_not_need_the_package(tmp_path):
    folder = command.write_space(tmp_path / "space", "my-org/era")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "app.py", "examples", "requirements.txt"]
    readme = (folder / "README.md").read_text()
    assert readme.startswith("---\n") and "\nsdk: gradio\n" in readme and "\napp_file: app.py\n" in readme
    assert "  - my-org/era\n" in readme
    requirements = (folder / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("gradio") for r in requirements) and any(r.startswith("transformers") for r in requirements)
    app = (folder / "app.py").read_text()
    assert "SPACE_MODEL_ID = 'my-org/era'" in app
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(app))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "json", "os", "re", "pathlib", "typing", "gradio", "transformers"}, imported
    examples = json.loads((folder / "examples" / "examples.json").read_text())
    assert [e["name"] for e in examples] == [p.name for p in EXAMPLE_POSTS]
    for example in examples:
        assert example["image"] is None or (folder / "examples" / example["image"]).is_file()


def test_serve_says_which_extra_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(command, "missing_extra_message", lambda: "the web demo needs Gradio: pip install x")
    assert command.main(["--port", "1"]) == 1
    assert capsys.readouterr().err == "multimodal-sentiment serve: the web demo needs Gradio: pip install x\n"


# ---------------------------------------------------------------- the served app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served(tokenizer, tiny_encoder_config, tmp_path_factory):
    """The page around a tiny ERA classifier whose image view is OCR, served on 127.0.0.1."""
    optional_module("gradio", "serve")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    folder = tmp_path_factory.mktemp("served-era")
    tiny_era_classifier(tokenizer, tiny_encoder_config, image_views=["ocr"]).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    classifier = pipeline(
        "multimodal-sentiment", model=str(folder), pipeline_class=MultimodalSentimentPipeline, device="cpu"
    )
    examples_dir = tmp_path_factory.mktemp("examples")
    demo = gradio_app.build_demo(classifier, command.write_examples(examples_dir), "test page")
    port = _free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
        allowed_paths=[str(examples_dir)],
    )
    try:
        yield classifier, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.mark.slow  # importing and starting Gradio takes 10-30 s
def test_served_app_answers_on_localhost(served):
    _, url = served
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert "gradio" in response.read().decode().lower()  # the page (its title is set by its script)
    with urllib.request.urlopen(url + "config", timeout=30) as response:
        config = json.loads(response.read())
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert {"image", "text", "submit", "label", "evidence", "agreement", "image-description"} <= ids
    assert any(d.get("api_name") == "classify" for d in config["dependencies"])


@pytest.mark.slow
def test_real_browser_uploads_an_image_with_words_and_sees_label_and_evidence(served, tmp_path):
    """Chromium (headless) fills the form, uploads a card that says "I hate Mondays", clicks
    Classify, and must see the pipeline's label, the OCR'd description and the evidence words."""
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        skip_optional(f"Chromium / chromedriver at {CHROMIUM}, {CHROMEDRIVER}", BROWSER_SETUP)
    if importlib.util.find_spec("selenium") is None:
        skip_optional("selenium", BROWSER_SETUP)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    classifier, url = served
    card = tmp_path / "monday.png"
    draw_card("I hate Mondays", (120, 30, 30)).save(card)
    text = "Back at the desk at 7am"
    expected = gradio_app.classify_post(classifier, str(card), text, "")
    assert expected["image_description"] == "I hate Mondays"  # OCR read the card

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ms-chromium-")
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1400,1100",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(url)
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#submit"))
        driver.find_element(By.CSS_SELECTOR, "#image input[type=file]").send_keys(str(card))
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#image img"))
        driver.find_element(By.CSS_SELECTOR, "#text textarea").send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#submit").click()
        WebDriverWait(driver, 120).until(
            lambda d: "Text only" in d.find_element(By.CSS_SELECTOR, "#agreement").text
        )
        driver.save_screenshot(str(tmp_path / "serve.png"))
        if os.environ.get("MS_SCREENSHOT_DIR"):
            shutil.copy(tmp_path / "serve.png", Path(os.environ["MS_SCREENSHOT_DIR"]) / "serve-test.png")
        label_lines = driver.find_element(By.CSS_SELECTOR, "#label").text.splitlines()
        description = driver.find_element(By.CSS_SELECTOR, "#image-description textarea").get_attribute("value")
        marked = [  # highlighted words and their colour (the modality's, from gradio_app.COLORS)
            (element.text.strip(), element.get_attribute("style"))
            for element in driver.find_elements(By.CSS_SELECTOR, "#evidence .token.highlighted")
        ]
        agreement = driver.find_element(By.CSS_SELECTOR, "#agreement").text
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)

    assert label_lines[1] == expected["label"], label_lines  # the big label under the block title
    assert description == "I hate Mondays"
    rgb = {modality: ", ".join(str(int(c, 16)) for c in (h[1:3], h[3:5], h[5:7])) for modality, h in COLORS.items()}
    highlighted = {(word, m) for word, style in marked for m, colour in rgb.items() if f"rgba({colour}" in style}
    want = {(piece, tag) for piece, tag in expected["evidence"] if tag}
    assert want and highlighted == want, (marked, want)
    assert any(tag == "description" for _, tag in want)  # words read off the image are evidence
    assert agreement.startswith("Text only:") and expected["raw"]["text_only"]["label"] in agreement


def test_committed_space_folder_is_what_write_space_writes(tmp_path):
    """space/ in the repository is the output of `serve --write-space space` (regenerate it when this fails)."""
    fresh = command.write_space(tmp_path / "space", gradio_app.SPACE_MODEL_ID)
    committed = Path(__file__).resolve().parents[1] / "space"
    for name in ("app.py", "requirements.txt", "examples/examples.json"):
        assert (committed / name).read_text() == (fresh / name).read_text(), name
