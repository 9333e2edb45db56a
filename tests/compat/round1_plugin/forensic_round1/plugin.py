"""Registration module: imports only forensic_core and pydantic (the round-1 README's rule)."""

from pydantic import Field

from forensic_core import ComponentSettings, ComponentSpec, hookimpl

WRAPPED = []


class MeanSettings(ComponentSettings):
    threshold: float = Field(0.5, ge=0, le=1, description="score at or above which the label is 'fake'")


class ContrastSettings(ComponentSettings):
    window: int = Field(5, ge=1, le=31, description="side of the square window the local contrast is taken over")


class PatchSettings(ComponentSettings):
    patch: int = Field(8, ge=2, le=64, description="side of the occluding square patch, in pixels")


class EchoSettings(ComponentSettings):
    prefix: str = Field("Verdict:", description="words the answer starts with")


class CentreSettings(ComponentSettings):
    fraction: float = Field(0.5, gt=0, le=1, description="share of the image side the face box spans")


@hookimpl
def forensic_register_detectors():
    return [
        ComponentSpec(
            name="r1-mean",
            summary="mean brightness as a score (round-1 plugin)",
            settings=MeanSettings,
            factory="forensic_round1.components:MeanDetector",
        )
    ]


@hookimpl
def forensic_register_localizers():
    return [
        ComponentSpec(
            name="r1-contrast",
            summary="local contrast map (round-1 plugin)",
            settings=ContrastSettings,
            factory="forensic_round1.components:ContrastLocalizer",
        )
    ]


@hookimpl
def forensic_register_explainers():
    return [
        ComponentSpec(
            name="r1-occlusion",
            summary="score drop under a sliding grey patch (round-1 plugin)",
            settings=PatchSettings,
            factory="forensic_round1.components:OcclusionExplainer",
        )
    ]


@hookimpl
def forensic_register_dialog_backends():
    return [
        ComponentSpec(
            name="r1-echo",
            summary="answers with the first detector's verdict (round-1 plugin)",
            settings=EchoSettings,
            factory="forensic_round1.components:EchoBackend",
        )
    ]


@hookimpl
def forensic_register_face_detectors():
    return [
        ComponentSpec(
            name="r1-centre",
            summary="one face box in the middle of the image (round-1 plugin)",
            settings=CentreSettings,
            factory="forensic_round1.components:CentreFaces",
        )
    ]


@hookimpl(wrapper=True)
def forensic_analyze_input(source, analyze):
    result = yield
    WRAPPED.append(source)
    return result


@hookimpl
def forensic_render_report(report, outdir):
    path = outdir / "round1-summary.txt"
    lines = [f"{result.source}: {result.status}" for result in report.results]
    path.write_text("\n".join(lines) + "\n")
    return [path]
