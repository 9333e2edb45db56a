"""Answers composed from the evidence alone, shared by the ``grounded`` backend and the FPL training templates.

Each sentence states one citation's numbers as :func:`forensic_core.dialog.cite_findings` gives them and points
at it with ``[n]``, the citation's place in the answer's evidence list (the list the session records with the
answer), so a reader can check every claim against the report.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensic_core.dialog import Evidence, Question, cite_findings, parse_question, primary_detection, relevant_evidence
from forensic_core.results import Findings


def words(region: str) -> str:
    return region.replace("_", " ")


def join_words(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Answer:
    """An answer under construction: sentences plus the citations they point at (``[n]`` markers)."""

    def __init__(self, cited: Sequence[Evidence]) -> None:
        self.cited = list(cited)
        self.sentences: list[str] = []

    def ref(self, item: Evidence) -> str:
        return f"[{self.cited.index(item) + 1}]" if item in self.cited else ""

    def say(self, sentence: str) -> None:
        if sentence and sentence not in self.sentences:
            self.sentences.append(sentence)

    def text(self) -> str:
        return " ".join(self.sentences)


def answer(findings: Findings, question_text: str, *, max_regions: int = 3) -> str:
    """The grounded answer to one question about ``findings``."""
    question = parse_question(question_text, {name for face in findings.faces for name in face.regions})
    cited = relevant_evidence(cite_findings(findings), question)
    out = Answer(cited)
    if primary_detection(findings) is None:
        out.say("No detector ran in this pipeline, so there is no verdict.")
    if question.asks("verdict", "summary"):
        _verdict(out, max_regions)
    if question.asks("confidence", "summary"):
        _confidence(out)
    if question.asks("where", "regions"):
        _where(out, max_regions)
    if question.asks("region"):
        _named_regions(out, question)
    if question.asks("compare"):
        _compare(out)
    if question.asks("change"):
        _change(out)
    if question.asks("why", "explain"):
        _why(out, question)
    if question.asks("per_region", "zoom") and not question.asks("region"):
        _refinements(out)
    if not out.sentences:
        _verdict(out, max_regions)
    return out.text()


def _of_kind(out: Answer, kind: str) -> list[Evidence]:
    return [item for item in out.cited if item["kind"] == kind]


def _top_regions(out: Answer, count: int) -> list[Evidence]:
    return _of_kind(out, "region")[:count]


def _verdict(out: Answer, max_regions: int) -> None:
    detections = _of_kind(out, "detection")
    if not detections:
        return
    main = detections[0]
    if main["label"] == "fake":
        regions = _top_regions(out, max_regions)
        regions = [r for r in regions if r["value"] >= 0.5 * regions[0]["value"]] if regions else []
        where = f", the artifact is at the {join_words([words(r['region']) for r in regions])}" if regions else ""
        out.say(
            f"Yes. This is a deepfake image{where}: {main['component']} gives a forgery score of "
            f"{main['value']:.2f}, at or above its threshold {main['threshold']:.2f} {out.ref(main)}."
        )
    else:
        out.say(
            f"No, this is not a deepfake image: {main['component']} gives a forgery score of {main['value']:.2f}, "
            f"below its threshold {main['threshold']:.2f} {out.ref(main)}."
        )


def _confidence(out: Answer) -> None:
    detections = _of_kind(out, "detection")
    if not detections:
        return
    main = detections[0]
    margin = abs(main["value"] - main["threshold"])
    strength = "a clear" if margin >= 0.3 else "a moderate" if margin >= 0.1 else "a weak"
    out.say(
        f"The forgery score is {100 * main['value']:.0f}% ({main['component']}) {out.ref(main)}; it lies "
        f"{margin:.2f} from the threshold {main['threshold']:.2f}, {strength} margin."
    )
    if "note" in main["text"]:
        out.say(f"Caveat from the detector: {main['text'].split('; ', 1)[1]}.")


def _where(out: Answer, max_regions: int) -> None:
    regions = _top_regions(out, max_regions)
    if regions:
        parts = [
            f"the {words(r['region'])} (mean heat {r['value']:.2f}, {r['component']}) {out.ref(r)}" for r in regions
        ]
        lead = (
            "Most evidence lies in " if _label(out) == "fake" else "The detector found no forgery; the most heat is in "
        )
        out.say(lead + join_words(parts) + ".")
        return
    maps = _of_kind(out, "localization")
    if maps:
        parts = [
            f"the {m['place']} of the image ({m['component']}, strongest heat {m['value']:.2f}) {out.ref(m)}"
            for m in maps
        ]
        out.say("No facial regions were named; the strongest evidence is in " + join_words(parts) + ".")
    else:
        out.say("No localizer ran, so the evidence cannot be placed in the image.")


def _label(out: Answer) -> str | None:
    detections = _of_kind(out, "detection")
    return detections[0]["label"] if detections else None


def _named_regions(out: Answer, question: Question) -> None:
    all_regions = _of_kind(out, "region")
    for name in question.regions:
        scored = [r for r in all_regions if r["region"] == name]
        if scored:
            r = scored[0]
            out.say(f"The {words(name)}: mean heat {r['value']:.2f} ({r['component']}) {out.ref(r)}.")
        else:
            out.say(f"The {words(name)}: no localizer heat was measured there.")
        for obs in (o for o in _of_kind(out, "refinement") if o.get("region") == name and "block" not in o):
            out.say(
                f"Re-running {obs['component']} on a zoomed crop of the {words(name)} gives a forgery score of "
                f"{obs['value']:.2f} ({obs['label']}) {out.ref(obs)}."
            )
    for obs in (o for o in _of_kind(out, "refinement") if "block" in o and o.get("region") in question.regions):
        out.say(f"{obs['text']} {out.ref(obs)}.")


def _compare(out: Answer) -> None:
    detections = _of_kind(out, "detection")
    if len(detections) < 2:
        if detections:
            out.say(f"Only one detector ran ({detections[0]['component']}), so there is nothing to compare.")
        return
    parts = [f"{d['component']} says {d['label']} ({d['value']:.2f}) {out.ref(d)}" for d in detections]
    agree = len({d["label"] for d in detections}) == 1
    out.say(join_words(parts) + (": the detectors agree." if agree else ": the detectors disagree."))


def _change(out: Answer) -> None:
    detections = _of_kind(out, "detection")
    if not detections:
        return
    main = detections[0]
    margin = abs(main["value"] - main["threshold"])
    direction = "fall below" if main["label"] == "fake" else "reach"
    flipped = "real" if main["label"] == "fake" else "fake"
    out.say(
        f"The verdict would become {flipped} if {main['component']}'s score ({main['value']:.2f}) were to "
        f"{direction} its threshold {main['threshold']:.2f}, a change of {margin:.2f} {out.ref(main)}."
    )
    regions = _top_regions(out, 1)
    if main["label"] == "fake" and regions:
        out.say(
            f"The evidence concentrates in the {words(regions[0]['region'])} {out.ref(regions[0])}: an image "
            f"without that anomaly would score lower."
        )
    for other in detections[1:]:
        out.say(f"{other['component']} says {other['label']} ({other['value']:.2f}) {out.ref(other)}.")


def _why(out: Answer, question: Question) -> None:
    main = _of_kind(out, "detection")[:1]
    if main:
        d = main[0]
        out.say(
            f"{d['component']} scored the image {d['value']:.2f} against a threshold of {d['threshold']:.2f} "
            f"{out.ref(d)}."
        )
    regions = _top_regions(out, 2)
    if regions:
        parts = [f"the {words(r['region'])} ({r['value']:.2f}) {out.ref(r)}" for r in regions]
        out.say("The localizers put the most heat in " + join_words(parts) + ".")
    else:
        for m in _of_kind(out, "localization")[:2]:
            out.say(f"{m['text']} {out.ref(m)}.")
    blocks = [e for e in out.cited if e["kind"] in ("explanation", "refinement") and "block" in e]
    if blocks:
        out.say(
            "The explainer traces it through the network: "
            + "; ".join(f"{b['text']} {out.ref(b)}" for b in blocks)
            + "."
        )
    else:
        for e in _of_kind(out, "explanation"):
            out.say(f"{e['text']} {out.ref(e)}")
        if not _of_kind(out, "explanation") and not question.asks("where"):
            out.say("No explainer ran, so the network's internal evidence is not traced.")


def _refinements(out: Answer) -> None:
    observations = [o for o in _of_kind(out, "refinement") if "block" not in o]
    if not observations:
        out.say("No further analysis could be run for this question.")
        return
    ranked = sorted(observations, key=lambda o: -o["value"])
    parts = [f"{o['text']} {out.ref(o)}" for o in ranked]
    out.say("Follow-up analysis: " + "; ".join(parts) + ".")
