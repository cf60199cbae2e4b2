"""Export every catalog model, verify it in Chromium on every photo, and write docs/MODELS.md.

    python scripts/parity_table.py --test-data ../shared -o docs/MODELS.md
"""

from __future__ import annotations

import argparse
import datetime
import logging
import platform
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from model_catalog import CATALOG, export_arguments  # noqa: E402

from exporter.cli import main as cli_main  # noqa: E402
from exporter.verify import verify_bundle  # noqa: E402

logger = logging.getLogger("parity_table")


def command_line(model, models_dir: Path) -> str:
    arguments = [f"models/{model.path}"] + [a.replace(str(models_dir), "models") for a in export_arguments(model, models_dir)]
    return "vision-export --target web " + " ".join(arguments) + " -o OUT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--test-data", type=Path, default=REPO.parent / "shared", help="folder with models/ and images/ (default: ../shared)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "docs" / "MODELS.md", help="markdown file to write (default: docs/MODELS.md)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    models_dir, photos_dir = args.test_data / "models", args.test_data / "images"

    summary_rows, detail_rows = [], []
    with tempfile.TemporaryDirectory() as work:
        for model in CATALOG:
            out = Path(work) / model.key
            code = cli_main(["--target", "web", str(models_dir / model.path), "-o", str(out), *export_arguments(model, models_dir)])
            if code != 0:
                summary_rows.append(f"| {model.key} | {model.preset or '(metadata)'} | {model.head} | export failed (exit {code}) | | | | |")
                continue
            report = verify_bundle(out, [photos_dir])
            data = report.to_dict()
            detections = sum(i["reference_count"] for i in data["images"])
            verdict = "pass" if report.passed else "FAIL"
            summary_rows.append(
                f"| {model.key} | {model.preset or '(metadata)'} | {model.head} | {len(data['images'])} | {detections} "
                f"| {data['max_box_diff_px']:.4f} | {data['max_score_diff']:.1e} | {verdict} (box {report.tolerance.box_px} px, score {report.tolerance.score}) |"
            )
            for image in data["images"]:
                raw = max(image["raw_output_max_diff"].values(), default=0.0)
                detail_rows.append(
                    f"| {model.key} | {image['image']} | {image['reference_count']} | {image['browser_count']} "
                    f"| {image['max_box_diff_px']:.4f} | {image['max_score_diff']:.1e} | {image['input_tensor_max_diff']:.1e} | {raw:.1e} | {'ok' if image['passed'] else 'FAIL'} |"
                )
            logger.info("%s: %s", model.key, verdict)

    lines = [
        "# Supported models and measured parity",
        "",
        "Every pretrained detector in the test data, exported with one command and checked with",
        "`vision-export verify` on every test photo: the browser (onnxruntime-web, wasm) against the",
        "Python reference (onnxruntime, CPU). Written by `python scripts/parity_table.py` on",
        f"{datetime.date.today().isoformat()}, {platform.machine()}, Python {platform.python_version()}.",
        "",
        "| model | preset | head kind | photos | detections | max box diff (px) | max score diff | verify |",
        "|---|---|---|---|---|---|---|---|",
        *summary_rows,
        "",
        "## Export commands",
        "",
        *[f"- `{model.key}`: `{command_line(model, models_dir)}`" + (f" ({model.notes})" if model.notes else "") for model in CATALOG],
        "",
        "## Per photo",
        "",
        "Input and raw-output columns are the largest absolute differences of the preprocessed tensor",
        "and of any raw model output, the stages `verify` compares before the detections.",
        "",
        "| model | photo | reference | browser | max box diff (px) | max score diff | input diff | raw output diff | result |",
        "|---|---|---|---|---|---|---|---|---|",
        *detail_rows,
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    logger.info("wrote %s", args.output)


if __name__ == "__main__":
    main()
