"""The multimodal-sentiment pipeline end to end: tiny random captioners (BLIP, GIT, a chat VLM)
built here, the tiny ERA classifier, remote code without the package, batching, caching,
evidence, modalities and the Hub plumbing (save_pretrained / Trainer checkpoints).

"""

from __future__ import annotations

import json
import re
from pathlib import Path

import helpers
import pytest
import torch
from helpers import (
    BLUE,
    GRAY,
    GREEN,
    RED,
    TINY,
    TINY_VISION,
    assert_carries_the_pipeline,
    colour_captioner,
    from_folder,
    in_process,
)
from PIL import Image
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    AutoTokenizer,
    BlipForConditionalGeneration,
    CLIPImageProcessor,
    GitConfig,
    GitForCausalLM,
    GitProcessor,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    pipeline,
)
from transformers.pipelines import PIPELINE_REGISTRY

from multimodal_sentiment import DEFAULT_MODEL_ID, DEFAULT_REVISION, MultimodalSentimentPipeline
from multimodal_sentiment.modeling.image_to_text import DescriptionCache

# ---------------------------------------------------------------- tiny captioners


def build_tiny_git(folder: Path, tokenizer) -> Path:
    """A randomly initialised 2-layer GIT (decoder-only, prompt as a prefix)."""
    torch.manual_seed(0)
    config = GitConfig(vision_config=TINY_VISION, vocab_size=tokenizer.vocab_size, **TINY)
    config.update({"bos_token_id": tokenizer.cls_token_id, "eos_token_id": tokenizer.sep_token_id})
    config.pad_token_id = tokenizer.pad_token_id
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    GitForCausalLM(config).save_pretrained(folder)
    GitProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}{% endif %}{% endfor %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def build_tiny_chat_vlm(folder: Path, tokenizer_path: Path) -> Path:
    """A randomly initialised LLaVA (CLIP vision tower + Llama) whose processor has a chat template."""
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_path))  # own copy: an <image> token is added
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_token_id = tokenizer.convert_tokens_to_ids("<image>")
    text_config = dict(TINY, model_type="llama", vocab_size=len(tokenizer), num_key_value_heads=2)
    text_config.update(bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id)
    text_config.update(pad_token_id=tokenizer.pad_token_id)
    vision_config = dict(TINY_VISION, model_type="clip_vision_model", projection_dim=32)
    torch.manual_seed(0)
    config = LlavaConfig(
        vision_config=vision_config,
        text_config=text_config,
        image_token_id=image_token_id,
        vision_feature_layer=-1,
        vision_feature_select_strategy="default",
    )
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    LlavaProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    ).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def git_dir(tmp_path_factory, tokenizer) -> Path:
    return build_tiny_git(tmp_path_factory.mktemp("tiny-git"), tokenizer)


@pytest.fixture(scope="module")
def chat_vlm_dir(tmp_path_factory, minilm_path) -> Path:
    return build_tiny_chat_vlm(tmp_path_factory.mktemp("tiny-llava"), minilm_path)








def reference_caption(folder: Path, image: Image.Image, prompt: str, max_new_tokens: int) -> str:
    """What a captioner writes after its prompt, computed by hand with plain transformers calls."""
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForImageTextToText.from_pretrained(folder).eval()
    inputs = processor(images=[image], text=[prompt], return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens)
    text = processor.batch_decode(output, skip_special_tokens=True)[0]
    assert text.startswith(prompt)  # BLIP echoes its prefix
    return " ".join(text[len(prompt) :].split())


def reference_scores(model, tokenizer, text: str | None, description: str | None) -> dict[str, float]:
    batch = tokenizer(
        [text or ""], [description or ""], truncation="longest_first", max_length=128, return_tensors="pt"
    )
    with torch.no_grad():
        probabilities = model(**batch).logits.softmax(-1)[0]
    return {model.config.id2label[i]: p for i, p in enumerate(probabilities.tolist())}


# ---------------------------------------------------------------- end to end


def test_end_to_end_with_blip_from_a_saved_folder(tiny_era_dir, tiny_era, tokenizer, blip_dir):
    classifier = from_folder(
        tiny_era_dir,
        captioner=str(blip_dir),
        captioner_max_new_tokens=6,
    )
    assert type(classifier).__module__.startswith("transformers_modules.")  # the checkpoint's copy ran
    result = classifier({"text": "so happy today", "image": RED})
    assert set(result) == {"label", "score", "scores", "image_description", "description_views"}
    caption = reference_caption(blip_dir, RED, "a picture of", 6)
    assert caption and result["image_description"] == caption  # new text only, prompt cut off
    assert result["description_views"] == ["caption"]
    # The classifier read (text, description) as one tokenizer pair.
    assert result["scores"] == pytest.approx(reference_scores(tiny_era, tokenizer, "so happy today", caption), abs=1e-5)
    assert result["label"] == max(result["scores"], key=result["scores"].get)
    assert result["score"] == pytest.approx(max(result["scores"].values()))
    assert sum(result["scores"].values()) == pytest.approx(1.0)


def test_git_captioner_continues_its_prefix_in_one_batch(tiny_era, tokenizer, git_dir, count_generate):
    calls = count_generate(GitForCausalLM)
    classifier = in_process(tiny_era, tokenizer, captioner=str(git_dir), captioner_max_new_tokens=4)
    results = classifier([{"image": RED}, {"text": "ok", "image": BLUE}, {"image": RED}], batch_size=3)
    assert calls == [2]  # one generate for the batch, each distinct image once
    prompt = count_generate.prompts[0]
    # GIT's prefix must not end with [SEP], or it would generate after an end-of-text token.
    assert (
        prompt[0].tolist() == [tokenizer.cls_token_id] + tokenizer("a picture of", add_special_tokens=False).input_ids
    )
    processor = AutoProcessor.from_pretrained(git_dir)
    model = AutoModelForImageTextToText.from_pretrained(git_dir).eval()
    pixels = processor(images=[RED], return_tensors="pt").pixel_values
    with torch.no_grad():
        output = model.generate(pixel_values=pixels, input_ids=prompt[:1], max_new_tokens=4)
    expected = " ".join(processor.batch_decode(output[:, prompt.shape[1] :], skip_special_tokens=True)[0].split())
    assert results[0]["image_description"] == results[2]["image_description"] == expected


def test_chat_vlm_captioner_gets_the_prompt_as_a_chat_message(tiny_era, tokenizer, chat_vlm_dir, count_generate):
    calls = count_generate(LlavaForConditionalGeneration)
    classifier = in_process(
        tiny_era,
        tokenizer,
        captioner=str(chat_vlm_dir),
        captioner_prompt="What mood does it show?",
        captioner_max_new_tokens=3,
    )
    results = classifier([{"image": RED}, {"image": GREEN}], batch_size=2)
    assert calls == [2]
    processor = AutoProcessor.from_pretrained(chat_vlm_dir)
    seen = processor.tokenizer.decode(count_generate.prompts[0][0]).replace(" ", "")
    # the chat template's message, ending where the assistant's answer starts (no end token after it)
    assert seen.startswith("user:<image>") and "whatmooddoesitshow?" in seen and seen.endswith("assistant:")
    for result in results:
        # only the assistant's new words: nothing of the chat prompt comes back
        assert result["image_description"] and "mood" not in result["image_description"]
        assert result["description_views"] == ["caption"]


def test_loaded_image_text_to_text_pipeline_as_captioner(tiny_era, tokenizer, blip_dir, count_generate):
    calls = count_generate(BlipForConditionalGeneration)
    captioner = pipeline("image-text-to-text", model=str(blip_dir), device="cpu")
    classifier = in_process(tiny_era, tokenizer, captioner=captioner, captioner_max_new_tokens=6)
    result = classifier({"image": RED})
    assert calls == [1]
    assert result["image_description"] == reference_caption(blip_dir, RED, "a picture of", 6)


def test_callable_captioner_gets_whole_batches_and_descriptions_land_on_their_post(tiny_era, tokenizer):
    batches = []

    def captioner(images):
        batches.append(len(images))
        return colour_captioner(images)

    classifier = in_process(tiny_era, tokenizer, captioner=captioner)
    results = classifier(
        [{"image": RED}, {"text": "x", "image": BLUE}, {"text": "no image"}, {"image": GREEN}, {"image": GRAY}],
        batch_size=2,
    )
    assert [r["image_description"] for r in results] == ["red", "blue", None, "green", "gray"]
    assert [r["description_views"] for r in results] == [["caption"], ["caption"], [], ["caption"], ["caption"]]
    assert batches == [2, 1, 1]  # chunks of 2 inputs: [red, blue], [text-only, green], [gray]


@pytest.mark.slow
def test_saved_folder_works_in_a_process_without_the_package(tiny_era_dir, blip_dir, run_without_package, tmp_path):
    image_path = tmp_path / "red.png"
    RED.save(image_path)
    inputs = [
        {"text": "so happy today", "image": str(image_path)},
        {"text": "only words here"},
        {"image_description": "a storm over the sea", "text": "hmm"},
    ]
    local = from_folder(tiny_era_dir, captioner=str(blip_dir))
    expected = local(inputs, captioner_max_new_tokens=5)
    result = run_without_package(
        f"""
        import json
        from transformers import pipeline
        inputs = {inputs!r}
        named = pipeline("multimodal-sentiment", model={str(tiny_era_dir)!r}, trust_remote_code=True, device="cpu",
                         captioner={str(blip_dir)!r}, captioner_max_new_tokens=5)
        inferred = pipeline(model={str(tiny_era_dir)!r}, trust_remote_code=True, device="cpu",
                            captioner={str(blip_dir)!r}, captioner_max_new_tokens=5)
        print(json.dumps({{"module": type(named).__module__, "inferred": type(inferred).__name__,
                          "named": named(inputs), "by_model": inferred(inputs, batch_size=2)}}))
        """
    )
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["module"].startswith("transformers_modules.")
    assert payload["inferred"] == "MultimodalSentimentPipeline"
    for outputs in (payload["named"], payload["by_model"]):
        for got, want in zip(outputs, expected, strict=True):
            assert got["label"] == want["label"]
            assert got["image_description"] == want["image_description"]
            assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


# ---------------------------------------------------------------- batching and caching


MIXED_INPUTS = [
    {"text": "what a lovely day", "image": RED},
    {"text": "terrible service, cold food and a rude waiter, we will never ever come back here again"},
    {"image": BLUE},
    {"text": "meh", "image_description": "a grey sky over a parking lot"},
    {"text": "my team won the final after extra time!!!", "image": GREEN},
    {"text": "new phone", "image": RED},
    {"image_description": "a birthday cake with candles"},
]


def test_batch_size_changes_nothing(tiny_era, tokenizer, blip_dir):
    classifier = in_process(
        tiny_era, tokenizer, captioner=str(blip_dir), captioner_max_new_tokens=5, description_cache=False
    )
    options = {"return_evidence": True, "return_modalities": True}
    one = classifier(MIXED_INPUTS, batch_size=1, **options)
    four = classifier(MIXED_INPUTS, batch_size=4, **options)
    for a, b in zip(one, four, strict=True):
        assert a["image_description"] == b["image_description"]  # the VLM batched = the VLM alone
        assert a["description_views"] == b["description_views"]
        assert a["label"] == b["label"] and a["agreement"] == b["agreement"]
        assert a["scores"] == pytest.approx(b["scores"], abs=1e-5)
        assert [e["position"] for e in a["evidence"]] == [e["position"] for e in b["evidence"]]
        for part in ("text_only", "description_only"):
            assert (a[part] is None) == (b[part] is None)
            if a[part] is not None:
                assert a[part]["scores"] == pytest.approx(b[part]["scores"], abs=1e-5)


def test_vlm_sees_each_distinct_image_once_and_never_cached_or_precomputed(
    tiny_era, tokenizer, blip_dir, count_generate
):
    calls = count_generate(BlipForConditionalGeneration)
    classifier = in_process(tiny_era, tokenizer, captioner=str(blip_dir), captioner_max_new_tokens=4)
    red_bytes = helpers.encode(RED)
    inputs = [
        {"image": RED},
        {"image": BLUE},
        {"image": red_bytes},  # the same picture as bytes: same content hash
        {"image": GREEN},
        {"text": "words only"},
        {"image": GRAY, "image_description": "given"},
        {"image": BLUE, "text": "again"},
    ]
    first = classifier(inputs, batch_size=4)
    assert calls == [3]  # chunk 1: red, blue, green together; chunk 2: blue is cached, gray precomputed
    assert first[0]["image_description"] == first[2]["image_description"]
    assert first[5]["image_description"] == "given" and first[5]["description_views"] == ["precomputed"]
    second = classifier(inputs, batch_size=2)
    assert calls == [3]  # everything cached
    assert [r["image_description"] for r in second] == [r["image_description"] for r in first]
    classifier(inputs[:2], batch_size=4, captioner_prompt="a photo of")  # another prompt is another cache key
    assert calls == [3, 2]


def test_text_only_and_precomputed_calls_never_make_a_captioner(tiny_era, tokenizer, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no captioner may be loaded or looked up")

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", refuse)
    monkeypatch.setattr(AutoProcessor, "from_pretrained", refuse)
    classifier = in_process(tiny_era, tokenizer, captioner="org/captioner-that-does-not-exist")
    classifier({"text": "hello"})
    classifier([{"image_description": "a cat"}, {"text": "x", "image": RED, "image_description": "a red wall"}])
    assert classifier.describe_stage._describer is None


def test_captioner_loads_lazily_and_once(tiny_era, tokenizer, blip_dir, monkeypatch):
    loads = []
    original = AutoModelForImageTextToText.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        loads.append(args[0])
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(AutoModelForImageTextToText, "from_pretrained", classmethod(counting))
    classifier = in_process(tiny_era, tokenizer, captioner=str(blip_dir), captioner_max_new_tokens=3)
    assert loads == []
    classifier({"image": RED})
    classifier([{"image": BLUE}, {"image": GREEN}], batch_size=2)
    assert loads == [str(blip_dir)]


def test_dtype_and_device_apply_to_both_stages(tiny_era_dir, blip_dir):
    classifier = from_folder(
        tiny_era_dir,
        dtype=torch.bfloat16,
        captioner=str(blip_dir),
        captioner_max_new_tokens=3,
    )
    result = classifier({"text": "fine", "image": RED})
    captioner = classifier.describer.view("caption")
    assert classifier.model.dtype == torch.bfloat16 and captioner.model.dtype == torch.bfloat16
    assert captioner.model.device.type == "cpu" and result["label"] in classifier.model.config.label2id


def test_description_cache_is_bounded_thread_safe_and_persisted(tmp_path):
    import threading

    def hammer(cache: DescriptionCache) -> None:
        def writer(worker: int) -> None:
            for i in range(40):
                cache.put(f"{worker}-{i}", f"description {worker} {i}")
                cache.get(f"{worker}-{i // 2}")

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    in_memory = DescriptionCache(max_entries=5)
    hammer(in_memory)
    assert len(in_memory) == 5  # an in-memory cache never exceeds its bound

    path = tmp_path / "descriptions.jsonl"
    persisted = DescriptionCache(max_entries=5, path=path)
    hammer(persisted)
    assert len(persisted) == 240  # a persisted cache never evicts: that would re-run the VLM
    assert len(path.read_text().splitlines()) == 240  # every description persisted
    with path.open("a") as handle:
        handle.write('{"key": "torn", "descr')  # a writer killed mid-line
        for _ in range(300):  # and many duplicates of one entry
            handle.write('{"key": "0-0", "description": "description 0 0"}\n')
    reloaded = DescriptionCache(max_entries=5, path=path)
    assert len(reloaded) == 240 and "torn" not in reloaded
    assert reloaded.get("5-39") == "description 5 39"
    assert len(path.read_text().splitlines()) == 240  # rewritten without duplicates and torn lines


def test_persisted_cache_spares_the_vlm_in_a_new_pipeline(tiny_era, tokenizer, blip_dir, count_generate, tmp_path):
    calls = count_generate(BlipForConditionalGeneration)
    path = tmp_path / "captions.jsonl"
    first = in_process(
        tiny_era, tokenizer, captioner=str(blip_dir), captioner_max_new_tokens=3, description_cache_file=str(path)
    )
    expected = first([{"image": RED}, {"image": BLUE}], batch_size=2)
    second = in_process(
        tiny_era, tokenizer, captioner=str(blip_dir), captioner_max_new_tokens=3, description_cache_file=str(path)
    )
    again = second([{"image": BLUE}, {"image": RED}], batch_size=2)
    assert calls == [2]
    assert [r["image_description"] for r in again] == [
        expected[1]["image_description"],
        expected[0]["image_description"],
    ]


def test_ocr_view_joins_the_caption(tiny_era, tokenizer, monkeypatch):
    from multimodal_sentiment.modeling import image_to_text

    engine_calls = []

    def fake_engine(image):
        engine_calls.append(image.size)
        return [[[[0, 0]] * 4, "BEST DAY", 0.99], [[[0, 0]] * 4, "noise", 0.1]], [0.0]

    monkeypatch.setattr(image_to_text.OcrReader, "_get_engine", lambda self: fake_engine)
    classifier = in_process(tiny_era, tokenizer, captioner=colour_captioner, image_views=["caption", "ocr"])
    results = classifier([{"image": RED}, {"image": RED}, {"text": "x"}], batch_size=3)
    assert results[0]["image_description"] == "red . BEST DAY"  # low-confidence line dropped
    assert results[0]["description_views"] == ["caption", "ocr"]
    assert len(engine_calls) == 1  # the second red is the same image
    only_ocr = classifier({"image": BLUE}, image_views=["ocr"])
    assert only_ocr["image_description"] == "BEST DAY" and only_ocr["description_views"] == ["ocr"]


@pytest.mark.slow
def test_real_minilm_model_and_rapidocr_read_words_drawn_in_the_image(minilm_path, tokenizer):
    pytest.importorskip("rapidocr_onnxruntime")
    from PIL import ImageDraw, ImageFont

    from multimodal_sentiment import EraForSequenceClassification

    image = Image.new("RGB", (520, 140), "white")
    ImageDraw.Draw(image).text((20, 40), "HAPPY  FRIDAY", fill="black", font=ImageFont.load_default(size=48))
    model = EraForSequenceClassification.from_encoder(str(minilm_path), tokenizer=tokenizer, token_top_k=8).eval()
    classifier = in_process(model, tokenizer, captioner=colour_captioner, image_views=["caption", "ocr"])
    result = classifier({"text": "weekend mood", "image": image}, return_evidence=True)
    assert result["description_views"] == ["caption", "ocr"]
    assert "HAPPY" in result["image_description"].upper() and "FRIDAY" in result["image_description"].upper()
    assert {item["modality"] for item in result["evidence"]} <= {"text", "description"}


# ---------------------------------------------------------------- evidence and modalities


def test_evidence_tokens_weights_and_modalities(tiny_era, tokenizer):
    classifier = in_process(tiny_era, tokenizer)
    text, description = "the concert was amazing", "a crowd cheering in front of a stage"
    result = classifier({"text": text, "image_description": description}, return_evidence=True)
    evidence = result["evidence"]
    encoded = tokenizer(text, description)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    with torch.no_grad():
        selected = tiny_era(**tokenizer([text], [description], return_tensors="pt"), output_selection=True)
    assert [e["position"] for e in evidence] == [p for p in selected.selected_indices[0].tolist() if p >= 0]
    assert 1 <= len(evidence) <= tiny_era.config.token_top_k
    for item in evidence:
        assert item["token"] == tokens[item["position"]]
        assert item["modality"] == {0: "text", 1: "description"}[encoded.sequence_ids()[item["position"]]]
        source = text if item["modality"] == "text" else description
        assert item["word"] in source.split() and item["token"].lstrip("#") in item["word"]
    weights = [e["weight"] for e in evidence]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    assert {e["modality"] for e in classifier({"text": text}, return_evidence=True)["evidence"]} == {"text"}


def test_modalities_match_single_modality_inputs_and_agreement_flag(tiny_era, tokenizer):
    classifier = in_process(tiny_era, tokenizer, captioner=colour_captioner)
    text, description = "worst trip of my life", "a sunny beach with palm trees"
    result = classifier({"text": text, "image_description": description}, return_modalities=True)
    alone_text = classifier({"text": text})
    alone_description = classifier({"image_description": description})
    # "text only" is exactly what the model says about the post without image, and vice versa.
    assert result["text_only"]["scores"] == pytest.approx(alone_text["scores"], abs=1e-5)
    assert result["description_only"]["scores"] == pytest.approx(alone_description["scores"], abs=1e-5)
    assert result["agreement"] == (alone_text["label"] == alone_description["label"])
    text_only = classifier({"text": text}, return_modalities=True)
    assert text_only["description_only"] is None and text_only["agreement"] is None
    image_only = classifier({"image": RED}, return_modalities=True)
    assert image_only["text_only"] is None and image_only["description_only"]["label"] == image_only["label"]
    with torch.no_grad():  # a classifier that always says "positive": the two parts agree
        tiny_era.classifier.weight.zero_()
        tiny_era.classifier.bias.copy_(torch.tensor([0.0, 0.0, 5.0]))
    agreeing = classifier({"text": text, "image": RED}, return_modalities=True)
    assert agreeing["agreement"] is True and agreeing["text_only"]["label"] == "positive"


# ---------------------------------------------------------------- inputs, streams, errors


def test_input_forms_keywords_strings_images_generators_and_datasets(tiny_era, tokenizer):
    import datasets

    classifier = in_process(tiny_era, tokenizer, captioner=colour_captioner)
    assert classifier(text="hi", image=RED)["image_description"] == "red"
    assert classifier("just a string")["image_description"] is None
    assert classifier(BLUE)["image_description"] == "blue"
    assert classifier([]) == []

    pulled = []

    def posts():
        for i in range(6):
            pulled.append(i)
            yield {"text": f"post {i}", "image": [RED, BLUE][i % 2]}

    stream = classifier(posts(), batch_size=2)
    assert not isinstance(stream, list)
    first = next(iter(stream))
    assert first["image_description"] == "red" and len(pulled) < 6  # streamed, not materialised
    rows = datasets.Dataset.from_dict(
        {"text": ["a", "b", "c"], "image": [RED, None, GREEN], "label": [0, 1, 2]},
        features=datasets.Features(
            {"text": datasets.Value("string"), "image": datasets.Image(), "label": datasets.Value("int64")}
        ),
    )
    results = list(classifier(rows, batch_size=2))
    assert [r["image_description"] for r in results] == ["red", None, "green"]


def _bad_input_cases(tmp_path: Path, server_base: str) -> dict[str, tuple[object, str | None]]:
    """name -> (input, message it must raise, or None when it is accepted)."""

    text_as_jpg = tmp_path / "notes.jpg"
    text_as_jpg.write_text("shopping list: eggs, milk")
    return {
        "missing file": ({"text": "t", "image": "holiday/missing.jpg"}, "image file not found: 'holiday/missing.jpg'"),
        "directory": ({"image": str(tmp_path)}, "is a directory, not an image file"),
        "zero bytes": ({"image": b""}, r"is empty \(0 bytes\)"),
        "truncated png": ({"image": helpers.half_png()}, "truncated or corrupt"),
        "corrupt jpeg": ({"image": helpers.corrupt_jpeg()}, "not an image in a format PIL reads"),
        "text file named .jpg": ({"image": str(text_as_jpg)}, "text starting 'shopping list"),
        "above pixel cap": ({"image": helpers.png_declaring(9000, 9000)}, "above the cap of 50,000,000"),
        "unreachable url": ({"image": helpers.closed_port_url()}, "could not be reached"),
        "invalid base64": ({"image": "data:image/png;base64,%%%"}, "invalid base64"),
        "none for both": ({"text": None, "image": None}, "nothing to classify"),
        "empty text": ({"text": ""}, "nothing to classify"),
        "whitespace text": ({"text": " \n\t "}, "nothing to classify"),
        "text not a string": ({"text": 42}, "'text' must be a string or None, got int"),
        "description not a string": (
            {"image_description": ["a", "b"]},
            "'image_description' must be a string or None, got list",
        ),
        "image of a wrong type": (
            {"image": 3.5},
            "image must be a file path, URL, data URI, base64 string, bytes, PIL",
        ),
        "item of a wrong type": (42, r"expected a dict like \{'text': ..., 'image': ...\}, got int"),
        "no known key": (
            {"txt": "typo"},
            r"has none of the keys 'text', 'image', 'image_description' \(its keys: \['txt'\]\)",
        ),
        "1x1 image": ({"image": Image.new("RGB", (1, 1), "red")}, None),
        "animated gif": ({"image": helpers.animated_gif()}, None),
        "16-bit png": ({"image": helpers.sixteen_bit_png()}, None),
        "cmyk jpeg": ({"image": helpers.cmyk_jpeg()}, None),
        "50,000-character text": ({"text": "word " * 10_000}, None),
        "emoji and right-to-left text": ({"text": "😀🎉 مرحبا بالعالم שלום 🇫🇷"}, None),
        "url": ({"image": server_base + "/ok.png"}, None),
    }


def _assert_classified(result: dict, model, tokenizer, post: dict, name: str) -> None:
    """An accepted post's real output: its text with the colour captioner's description, every
    label's probability as the model gives it, the winner as the label."""
    description = result["image_description"]
    if post.get("image") is None:
        assert description is None, name
    else:
        assert description in {"red", "blue", "green", "gray", "something"}, name
        if isinstance(post["image"], Image.Image) or name == "animated gif":  # a red picture (first frame)
            assert description == "red", name
    expected = reference_scores(model, tokenizer, post.get("text"), description)
    assert result["scores"] == pytest.approx(expected, abs=1e-5), name
    assert result["label"] == max(expected, key=expected.get) and "error" not in result, name


@pytest.mark.parametrize("position", [0, 2])
def test_bad_input_matrix_names_the_input_and_the_problem(tiny_era, tokenizer, tmp_path, image_server, position):
    classifier = in_process(tiny_era, tokenizer, captioner=colour_captioner)
    cases = _bad_input_cases(tmp_path, image_server.base)
    assert len(cases) >= 20
    good = {"text": "a fine day", "image": RED}
    for name, (bad, message) in cases.items():
        batch = [good, good, good]
        batch[position] = bad
        if message is None:
            results = classifier(batch, batch_size=2)
            _assert_classified(results[position], tiny_era, tokenizer, bad, name)
            for other in (r for i, r in enumerate(results) if i != position):  # nothing shifted onto another post
                _assert_classified(other, tiny_era, tokenizer, good, name)
            continue
        with pytest.raises(ValueError, match=f"^input {position}: .*{message}") as raised:
            classifier(batch, batch_size=2)
        assert raised.value.index == position, name
        recorded = classifier(batch, batch_size=2, on_error="record")
        assert recorded[position]["index"] == position and recorded[position]["label"] is None, name
        assert re.search(f"^input {position}: .*{message}", recorded[position]["error"]), name
        others = [r for i, r in enumerate(recorded) if i != position]
        assert all(r["label"] is not None and r["image_description"] == "red" for r in others), name


def test_single_input_errors_and_on_error_settings(tiny_era, tokenizer):
    classifier = in_process(tiny_era, tokenizer, captioner=colour_captioner)
    with pytest.raises(ValueError, match=r"^input: nothing to classify"):
        classifier({"text": "  "})
    with pytest.raises(ValueError, match="on_error must be one of"):
        classifier({"text": "x"}, on_error="ignore")
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['return_evidense'\]"):
        classifier({"text": "x"}, return_evidense=True)
    recording = in_process(tiny_era, tokenizer, captioner=colour_captioner, on_error="record")
    record = recording({"image": "missing.png"})
    assert record["error"].startswith("input: image file not found") and record["index"] is None
    no_captioner = in_process(tiny_era, tokenizer)  # the tiny config names no captioner
    with pytest.raises(ValueError, match="names no captioner"):
        no_captioner({"image": RED})
    failing = no_captioner([{"image": RED}, {"text": "fine"}], on_error="record")
    assert "names no captioner" in failing[0]["error"] and failing[1]["label"] is not None


def test_a_failing_captioner_batch_is_retried_item_by_item_in_record_mode(tiny_era, tokenizer):
    def picky(images):
        if any(image.getpixel((0, 0)) == (0, 0, 255) for image in images):
            raise RuntimeError("cannot describe blue")
        return colour_captioner(images)

    classifier = in_process(tiny_era, tokenizer, captioner=picky)
    results = classifier([{"image": RED}, {"image": BLUE}, {"image": GREEN}], batch_size=3, on_error="record")
    assert results[0]["image_description"] == "red" and results[2]["image_description"] == "green"
    assert results[1]["error"] == "input 1: describing its image failed: cannot describe blue"
    with pytest.raises(RuntimeError, match="cannot describe blue"):
        classifier([{"image": RED}, {"image": BLUE}], batch_size=2)


# ---------------------------------------------------------------- registration and checkpoints


def test_in_process_registration_and_default_checkpoint(tiny_era, tokenizer):
    task, implementation, _ = PIPELINE_REGISTRY.check_task("multimodal-sentiment")
    assert implementation["impl"] is MultimodalSentimentPipeline
    assert implementation["default"] == {"model": (DEFAULT_MODEL_ID, DEFAULT_REVISION)}
    assert isinstance(in_process(tiny_era, tokenizer), MultimodalSentimentPipeline)


def test_save_pretrained_and_pipeline_save_carry_the_pipeline(tiny_era, tiny_era_dir, tokenizer, tmp_path):
    assert_carries_the_pipeline(tiny_era_dir)  # model.save_pretrained
    in_process(tiny_era, tokenizer).save_pretrained(tmp_path / "from-pipeline")
    assert_carries_the_pipeline(tmp_path / "from-pipeline")
    classifier = pipeline(model=str(tmp_path / "from-pipeline"), trust_remote_code=True, device="cpu")
    assert classifier({"text": "ok"})["label"] in tiny_era.config.label2id


def test_trainer_checkpoint_is_a_working_pipeline(tiny_era, tokenizer, tmp_path):
    import datasets
    from transformers import Trainer, TrainingArguments

    encoded = tokenizer(["good", "bad", "fine", "awful"], ["a smile", "a frown", "a chair", "rain"], padding=True)
    train = datasets.Dataset.from_dict({**encoded, "labels": [2, 0, 1, 0]})
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        max_steps=1,
        save_steps=1,
        per_device_train_batch_size=4,
        report_to=[],
        use_cpu=True,
        disable_tqdm=True,
    )
    Trainer(model=tiny_era.train(), args=args, train_dataset=train).train()
    checkpoint = tmp_path / "run" / "checkpoint-1"
    assert_carries_the_pipeline(checkpoint)
    tokenizer.save_pretrained(checkpoint)  # Trainer saves it when given a processing_class
    classifier = pipeline(model=str(checkpoint), trust_remote_code=True, device="cpu", captioner=colour_captioner)
    result = classifier({"text": "great", "image": BLUE})
    assert result["image_description"] == "blue" and result["label"] in tiny_era.config.label2id
