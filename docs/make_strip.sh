#!/bin/sh
# Re-make docs/strip.png: the bundled teacher, the quickstart's deployed student and OpenCV's CSRT on
# synth-1000034, a hard synthetic-test sequence (fast motion, scale change, full occlusion, motion blur,
# partly out of view). Needs the quickstart's run folder: edgetrack pipeline run pipelines/quickstart.yaml
set -e
cd "$(dirname "$0")/.."
SEQ=synth-1000034
.venv/bin/edgetrack eval --model tiny --model runs/quickstart/build --model opencv:csrt --workers 2 \
    --out runs/eval --strip "$SEQ"
cp "runs/eval/synthetic-test/strip-$SEQ.png" docs/strip.png
echo "docs/strip.png"
