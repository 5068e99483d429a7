"""The signal experiment's report tables (pipeline/signal_report.py) from a hand-made report."""

from __future__ import annotations

from pipeline.signal_report import _figure_rows, markdown_table

REPORT = {"figures": {
    "constrained": {"attributes": {"value": 0.5, "chance": 0.5, "target": ">= 0.9", "met": False, "n": 10},
                    "steps": 200},  # not a figure with a target: left out
    "free": {"age_mae": {"value": None, "chance": 20.0, "target": "<= 6", "met": False, "n": 0},
             "expression": {"value": 0.85, "chance": 0.143, "target": ">= 0.8", "met": True, "n": 7}},
}}


def test_markdown_table_has_one_row_per_targeted_figure() -> None:
    lines = markdown_table(REPORT).splitlines()
    assert lines[2:] == [
        "| constrained | attributes | 0.5 | 0.5 | >= 0.9 | **no** | 10 |",
        "| free | age_mae | n/a | 20 | <= 6 | **no** | 0 |",
        "| free | expression | 0.85 | 0.143 | >= 0.8 | yes | 7 |",
    ]


def test_html_rows_say_which_targets_are_met() -> None:
    rows = _figure_rows(REPORT["figures"])
    assert rows.count("<tr>") == 3 and rows.count("NOT MET") == 2 and ">met<" in rows and "steps" not in rows


def test_the_text_to_face_ceilings_are_shown_beside_the_figure() -> None:
    from pipeline.signal_report import _ceiling_note

    figures = {"text_to_face": {"ceiling_own_codes": {"n": 19.0, "hair_and_smile": 0.5, "hair": 0.6, "smile": 0.7},
                                "ceiling_drawn_prompts": {"through_tokenizer": {"n": 60, "hair_and_smile": 0.92,
                                                                                "hair": 0.95, "smile": 0.95}}}}
    note = _ceiling_note(figures)
    assert "hair and smile 0.92" in note and "own codes: 0.50" in note and "n=19" in note
    assert _ceiling_note({}) == ""


def test_faces_drawn_as_prompted_read_back_through_the_palette_tokenizer() -> None:
    from model.evaluate.pixels import face_prompts
    from model.tokenizers.palette import PaletteTokenizer
    from pipeline.signal import prompt_ceiling

    ceiling = prompt_ceiling(face_prompts(per_cell=3), PaletteTokenizer(), seed=0)
    assert ceiling["pixels"]["hair_and_smile"] >= 0.95, ceiling  # read_back knows the drawing rules
    assert ceiling["through_tokenizer"]["hair_and_smile"] >= 0.75, ceiling  # 16x16 patches move the edges it finds


def test_chance_is_the_best_constant_answer_on_the_same_items() -> None:
    from pipeline.signal import constant_answer

    answers = [{"question": "celeba smiling:", "label": v} for v in (True, True, True, False)] + \
        [{"question": "celeba bald:", "label": v} for v in (False, True)]
    assert constant_answer(answers, "accuracy") == 100.0 * (3 + 1) / 6
    assert constant_answer([{"question": "cacd age:", "label": a} for a in (50, 52, 60)], "mae") == (2 + 0 + 8) / 3
    assert constant_answer([], "mae") is None
