"""The conversions table as JSON, as rows of text (terminal and Markdown) and as an HTML page with a plot."""

from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import asdict
from typing import Any

from gtcrn_bench.conversions.evaluate import ConversionsResult, MeanCI, TargetRow
from gtcrn_bench.provenance import cpu_info, git_state

COLUMNS = (
    "target",
    "runtime",
    "KB",
    "ops",
    "spec max abs",
    "spec SNR dB",
    "wave max abs",
    "wave SNR dB",
    "drift SNR dB first/last",
    "ΔPESQ-WB [95% CI]",
    "ΔSTOI [95% CI]",
    "ΔDNSMOS-OVRL [95% CI]",
    "median ms",
    "p99 ms",
    "× published [95% CI]",
    "streams/core",
    "ms at MAC peak",
    "verdict",
)


def _num(value: float | None, spec: str) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def _delta(ci: MeanCI | None, spec: str) -> str:
    if ci is None:
        return "-"
    if ci.low is None or ci.high is None:
        return f"{ci.mean:{spec}}"
    return f"{ci.mean:{spec}} [{ci.low:{spec}}, {ci.high:{spec}}]"


def row_cells(row: TargetRow) -> list[str]:
    """One table row as text, in :data:`COLUMNS` order."""
    lat = row.latency
    ratio = "-"
    if "ratio" in lat:
        ratio = f"{lat['ratio']:.2f} [{lat['ratio_low']:.2f}, {lat['ratio_high']:.2f}]"
    drift = "-" if row.drift is None else f"{row.drift.early_snr_db:.1f} / {row.drift.late_snr_db:.1f}"
    verdict = row.verdict if row.skipped is None else f"SKIP ({row.skipped})"
    if row.error is not None:
        verdict = f"FAIL ({row.error})"
    return [
        row.target,
        row.runtime or "-",
        _num(row.size_kb, ".0f"),
        _num(row.op_count, "d"),
        _num(row.spectrum_max_abs, ".2g"),
        _num(row.spectrum_snr_db, ".1f"),
        _num(row.waveform_max_abs, ".2g"),
        _num(row.waveform_snr_db, ".1f"),
        drift,
        _delta(row.deltas.get("pesq_wb"), "+.3f"),
        _delta(row.deltas.get("stoi"), "+.4f"),
        _delta(row.deltas.get("dnsmos_ovrl"), "+.3f"),
        _num(lat.get("median_ms"), ".3f"),
        _num(lat.get("p99_ms"), ".3f"),
        ratio,
        _num(lat.get("streams_per_core"), "d"),
        _num(lat.get("at_peak_ms"), ".4f"),
        verdict,
    ]


def fastest_within_float32(result: ConversionsResult) -> TargetRow | None:
    """The quickest target (median ms) that passed with float32 tolerances."""
    rows = [r for r in result.rows if r.precision == "float32" and r.checks and r.passed and r.latency]
    return min(rows, key=lambda r: r.latency["median_ms"], default=None)


def _ci(ci: MeanCI) -> dict[str, Any]:
    return asdict(ci)


def to_dict(result: ConversionsResult) -> dict[str, Any]:
    """Everything measured, JSON-ready (with the machine and commit)."""
    s = result.settings
    return {
        "settings": {
            "checkpoint": s.checkpoint,
            "reference_checkpoint": s.reference_checkpoint or s.checkpoint,
            "targets": list(s.targets),
            "data": str(s.data),
            "calibration": s.calibration,
            "latency_frames": s.latency_frames,
            "threads": 1,
            "tolerances": asdict(s.tolerances),
            "quality_tolerances": asdict(s.quality_tolerances),
        },
        "machine": cpu_info(),
        "git": git_state(),
        "pairs": result.pairs,
        "skipped_pairs": result.skipped_pairs,
        "float32_quality": result.reference_quality,
        "mac_peak": None if result.peak is None else result.peak.to_dict(),
        "published_onnx_latency": result.latency_reference,
        "passed": result.passed,
        "rows": [
            {
                "target": r.target,
                "precision": r.precision,
                "runtime": r.runtime,
                "size_kb": r.size_kb,
                "op_count": r.op_count,
                "frames": r.frames,
                "spectrum": {"max_abs": r.spectrum_max_abs, "snr_db": r.spectrum_snr_db},
                "waveform": {"max_abs": r.waveform_max_abs, "snr_db": r.waveform_snr_db},
                "drift": None if r.drift is None else asdict(r.drift),
                "deltas": {k: _ci(v) for k, v in r.deltas.items()},
                "latency": r.latency,
                "checks": [c.to_dict() for c in r.checks],
                "notes": r.notes,
                "error": r.error,
                "skipped": r.skipped,
                "verdict": r.verdict,
            }
            for r in result.rows
        ],
    }


def markdown(result: ConversionsResult) -> str:
    """The table as Markdown, headed by the machine and commit it was measured on."""
    cpu, git = cpu_info(), git_state()
    lines = [
        f"Measured on {cpu.get('model', 'unknown CPU')} ({cpu.get('logical_cores', '?')} logical cores), "
        f"commit `{(git.get('commit') or 'unknown')[:10]}`, {len(result.pairs)} pairs, 1 thread.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row_cells(r)) + " |" for r in result.rows]
    return "\n".join(lines) + "\n"


def _plot_png(result: ConversionsResult) -> str:
    """Quality (ΔPESQ-WB) against speed (× published ONNX), one point per target; base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for row in result.rows:
        if "ratio" not in row.latency:
            continue
        delta = row.deltas.get("pesq_wb")
        y = 0.0 if delta is None else delta.mean
        ax.scatter(row.latency["ratio"], y, color="tab:green" if row.passed else "tab:red")
        ax.annotate(row.target, (row.latency["ratio"], y), fontsize=8, xytext=(4, 4), textcoords="offset points")
    ax.axhline(result.settings.quality_tolerances.pesq_wb, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xlabel("per-frame time / published ONNX (1 thread)")
    ax.set_ylabel("ΔPESQ-WB vs float32")
    ax.set_title("Quality vs speed of each conversion")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def html_page(result: ConversionsResult) -> str:
    """A self-contained HTML page: the table and the quality-vs-speed plot."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row_cells(r)) + "</tr>" for r in result.rows)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>gtcrn-bench conversions</title>"
        "<style>table{border-collapse:collapse;font:12px sans-serif}td,th{border:1px solid #ccc;padding:3px}</style>"
        f"</head><body><h1>Conversions of {html.escape(result.settings.checkpoint)}</h1>"
        f"<p>{html.escape(markdown(result).splitlines()[0])}</p>"
        f"<table><tr>{head}</tr>{body}</table>"
        f"<p><img alt='quality vs speed' src='data:image/png;base64,{_plot_png(result)}'></p></body></html>"
    )
