from gateway.fusion import SD_MAX_TOKENS, fuse_prompt


def words(text: str) -> int:
    """A token counter for the pure tests: one token per word."""
    return len(text.replace(",", " ").split())


def test_everything_fits_in_priority_order():
    fused = fuse_prompt(
        query="brown flowers",
        motif_name="Sekar Kemuning",
        captions=["a dotted flower pattern"],
        facts=["It symbolizes balance."],
        count_tokens=words,
    )
    assert fused.text == (
        "brown flowers, Batik Nitik Sekar Kemuning motif, a dotted flower pattern, "
        "It symbolizes balance."
    )
    assert [p.source for p in fused.parts] == ["query", "motif", "caption", "fact"]
    assert all(p.kept == "full" for p in fused.parts)
    assert not fused.truncated and fused.cut == []
    assert fused.tokens == words(fused.text) + 2


def test_long_parts_are_cut_at_word_boundaries_and_reported():
    long_fact = " ".join(f"w{i}" for i in range(100))
    fused = fuse_prompt(
        query="kawung",
        motif_name="Kawung Nitik",
        captions=["four circles"],
        facts=[long_fact, "short fact"],
        count_tokens=words,
    )
    assert fused.tokens <= SD_MAX_TOKENS
    kept = {p.source: p.kept for p in fused.parts}
    assert kept["query"] == kept["motif"] == kept["caption"] == "full"
    fact_parts = [p for p in fused.parts if p.source == "fact"]
    assert fact_parts[0].kept == "partial"
    assert fact_parts[1].kept == "dropped"
    assert fused.truncated
    assert fused.cut[0].endswith("w99") and fused.cut[1] == "short fact"
    assert fused.tokens == SD_MAX_TOKENS  # the budget is used to the last token


def test_the_query_wins_over_everything_else():
    query = " ".join(["sekar"] * 90)
    fused = fuse_prompt(
        query=query, motif_name="Truntum", captions=["stars"], facts=[], count_tokens=words
    )
    assert fused.parts[0].kept == "partial"
    assert [p.kept for p in fused.parts[1:]] == ["dropped", "dropped"]
    assert fused.tokens == SD_MAX_TOKENS


def test_image_only_query_uses_caption_and_facts():
    fused = fuse_prompt(
        query=None,
        motif_name="Truntum",
        captions=[""],
        facts=["Love blossoms."],
        count_tokens=words,
    )
    assert fused.text == "Batik Nitik Truntum motif, Love blossoms."


def test_real_sd_tokenizer_window(tiny_models):
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(str(tiny_models["sd"]), subfolder="tokenizer")

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    fused = fuse_prompt(
        query="batik warna coklat bunga",
        motif_name="Sekar Jagad",
        captions=["a dotted geometric pattern of flowers and leaves on cream cloth"],
        facts=["In Javanese society, Kemuning trees including their flowers have meaning."] * 3,
        count_tokens=count,
    )
    full = tokenizer(fused.text)["input_ids"]
    assert len(full) == fused.tokens <= SD_MAX_TOKENS
    assert fused.text.startswith("batik warna coklat bunga, Batik Nitik Sekar Jagad motif")
    assert fused.truncated


# ---- the real CLIP vocabulary (tests/fixtures/clip_vocab) --------------------------------------


def real_counter(real_config_models):
    """The gateway's own token counter, loading the real CLIP tokenizer as it loads SD's."""
    from gateway.composition import load_token_counter
    from gateway.config import GatewaySettings

    settings = GatewaySettings(
        tokenizer=str(real_config_models["clip_tokenizer"]), tokenizer_subfolder=None
    )
    return load_token_counter(settings)


def test_real_vocabulary_gives_openais_ids(real_config_models):
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(str(real_config_models["clip_tokenizer"]))
    assert len(tokenizer) == 49408
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert real_counter(real_config_models)("a photo of a cat") == 5


def test_long_batik_prompts_fit_77_real_tokens(real_config_models, shared_sample):
    """Every motif of the shared sample, with a long caption: the fused prompt is at most 77 real
    CLIP tokens, its count is the tokenizer's own, and the budget is used up before cutting."""
    from transformers import CLIPTokenizer

    from services.common.text import sentences
    from services.retrieval.dataset import read_metadata

    tokenizer = CLIPTokenizer.from_pretrained(str(real_config_models["clip_tokenizer"]))
    count = real_counter(real_config_models)
    _, workbook = shared_sample
    motifs = read_metadata(workbook)
    assert len(motifs) >= 50
    caption = (
        "a symmetric dotted batik nitik pattern of brown flowers, four-petalled kawung circles and "
        "small truntum stars on cream cloth, drawn with canting dots in sogan colours"
    )
    truncated = 0
    for motif in motifs.values():
        fused = fuse_prompt(
            query="motif batik warna coklat dengan bunga dan titik-titik yang rapat",
            motif_name=motif.name,
            captions=[caption],
            facts=sentences(motif.description_en)[:4],
            count_tokens=count,
        )
        ids = tokenizer(fused.text)["input_ids"]
        assert len(ids) == fused.tokens <= SD_MAX_TOKENS, motif.name
        # nothing the encoder would silently drop: the whole prompt survives truncation at 77
        assert tokenizer(fused.text, truncation=True, max_length=77)["input_ids"] == ids
        if fused.truncated:
            truncated += 1
            # cut at a word boundary only when the budget is (nearly) used up
            assert fused.tokens > SD_MAX_TOKENS - 10, (motif.name, fused.tokens)
    assert truncated > len(motifs) // 2  # these prompts are long: most of them had to be cut
