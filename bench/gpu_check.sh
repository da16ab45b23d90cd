#!/usr/bin/env bash
# The GPU figures of DESIGN §11 in one run (< 8 minutes on one H200), printed as one table.
#
#   bench/gpu_check.sh                 # on a CUDA machine: SD 1.5-sized editing at 512 px,
#                                      # ViT-B/32 batch 256 bf16 training step, evaluation
#   bench/gpu_check.sh --dry           # CPU, tiny models: checks the script end to end
#
# Parts (each under its own timeout; a part that fails or runs out of time is reported as
# such in the table and the others still run):
#   1. bench/bench_edit.py: batched instruct-pix2pix editing vs one diffusers call per image,
#      SD 1.5 UNet/VAE/text-encoder configs with random weights, bf16 UNet + fp32 VAE, 20
#      steps, longer side 512 px; UNet FLOPs per edit and TFLOP/s as a share of the device's
#      dense bf16 peak (H200: 989 TFLOP/s). Targets: batched >= 4x, UNet >= 40% of peak.
#   2. bench/bench_train.py: ViT-B/32 (random weights), batch 256, bf16 autocast: a training
#      step with the AHNPL losses vs plain CLIP loss. Target <= 1.05.
#   3. bench/bench_eval.py: ViT-B/32 evaluation on the bundled SugarCrepe items vs the pure
#      encoder on the same unique images and texts. Target >= 0.9x.
#
# Needs the project installed with a CUDA build of torch (`pip install -e '.[all]'`); uses
# $PYTHON, else .venv/bin/python, else python3. Logs and the table go to $OUT (or ./gpu-check).
set -euo pipefail

cd "$(dirname "$0")/.."
DRY=0
if [[ "${1:-}" == "--dry" ]]; then DRY=1; fi
if [[ -n "${PYTHON:-}" ]]; then PY=$PYTHON
elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python
else PY=python3
fi
LOGS=${OUT:-gpu-check}
mkdir -p "$LOGS"

if [[ $DRY == 1 ]]; then
  EDIT=(--device cpu --no-sd15 --size 64 --batch 2 --images 4 --steps 2 --repeats 1 --dtype fp32)
  TRAIN=(--model ahnpl-tiny --device cpu --precision fp32 --batch-size 16 --steps 2 --warmup 1
         --read-samples 64 --read-batch 16)
  EVAL=(--model ahnpl-tiny --device cpu --repeats 1 --batch-size 32)
  LIMITS=(120 120 120)
else
  "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device: use --dry on CPU")'
  EDIT=(--device cuda --sd15 --size 512 --batch 8 --images 16 --steps 20 --repeats 2 --dtype bf16)
  TRAIN=(--model ViT-B-32 --device cuda --precision bf16 --batch-size 256 --steps 10 --warmup 3
         --read-samples 320 --read-batch 32)
  EVAL=(--model ViT-B-32 --device cuda --repeats 3 --batch-size 256)
  LIMITS=(210 150 90)
fi

"$PY" - <<'EOF' >"$LOGS/device.txt"
import platform, torch
name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else platform.processor() or "cpu"
print(f"# device: {name}; torch {torch.__version__}; cuda {torch.version.cuda}")
EOF

run_part() {  # name, seconds, command...: a failure is recorded, never fatal
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS rc=0
  echo "== $name (limit ${limit}s): $*" >&2
  timeout --kill-after=10 "$limit" "$@" >"$LOGS/$name.log" 2>"$LOGS/$name.err" || rc=$?
  echo "$rc $((SECONDS - start))" >"$LOGS/$name.rc"
  tail -n 5 "$LOGS/$name.log" >&2
  if [[ $rc != 0 ]]; then tail -n 5 "$LOGS/$name.err" >&2; fi
}

run_part edit "${LIMITS[0]}" "$PY" bench/bench_edit.py "${EDIT[@]}"
run_part train "${LIMITS[1]}" "$PY" bench/bench_train.py "${TRAIN[@]}"
run_part eval "${LIMITS[2]}" "$PY" bench/bench_eval.py "${EVAL[@]}"

"$PY" - "$LOGS" <<'EOF' | tee "$LOGS/table.md"
"""Collect the three logs into one Markdown table."""
import re
import sys
from pathlib import Path

logs = Path(sys.argv[1])
rows = []


def part(name):
    rc, seconds = (logs / f"{name}.rc").read_text().split()
    text = (logs / f"{name}.log").read_text()
    status = "ok" if rc == "0" else ("timed out" if rc in ("124", "137") else f"failed rc={rc}")
    return text, f"{status}, {seconds}s"


def row(part_name, what, value, target, status):
    rows.append(f"| {part_name} | {what} | {value} | {target} | {status} |")


text, status = part("edit")
header = re.search(r"^# (.*)$", text, re.M)
for m in re.finditer(
    r"size (\S+): batched ([\d.]+) img/s, one call per image ([\d.]+) img/s, ratio ([\d.]+)x; "
    r"UNet ([\d.]+) GFLOP per edit(?:; UNet utilisation vs (\d+) TFLOP/s bf16: end-to-end "
    r"([\d.]+)%, UNet-only ([\d.]+)%)?",
    text,
):
    size, batched, single, ratio, gflop, peak, e2e, unet = m.groups()
    row("edit", f"batched vs one call per image, {size}", f"{batched} vs {single} img/s = "
        f"**{ratio}x**", ">= 4x", status)
    if peak:
        tflops = float(unet) / 100 * float(peak)
        row("edit", f"UNet bf16 TFLOP/s, {size} ({gflop} GFLOP/edit)",
            f"UNet-only {tflops:.0f} TFLOP/s = **{unet}%** of {peak}; whole edit {e2e}%",
            ">= 40%", status)
if not re.search(r"ratio [\d.]+x", text):
    row("edit", "batched vs one call per image", "-", ">= 4x", status)

text, status = part("train")
a = re.search(r"AHNPL losses : +([\d.]+) ms", text)
c = re.search(r"CLIP loss +: +([\d.]+) ms", text)
head = re.search(r"^model (.*)$", text, re.M)
if a and c:
    ratio = float(a.group(1)) / float(c.group(1))
    row("train", f"step AHNPL vs CLIP ({head.group(1) if head else ''})",
        f"{a.group(1)} vs {c.group(1)} ms = **{ratio:.3f}**", "<= 1.05", status)
else:
    row("train", "step AHNPL vs CLIP", "-", "<= 1.05", status)

text, status = part("eval")
pure = re.search(r"pure encoder \(decode \+ encode\) +([\d.]+) s +([\d.]+) items/s", text)
runs = re.findall(r"evaluate, (workers=0|default workers) +[\d.]+ s +([\d.]+) items/s +([\d.]+)x",
                  text)
head = re.search(r"^model (.*?);", text, re.M)
if pure and runs:
    best = max(runs, key=lambda r: float(r[1]))
    row("eval", f"evaluation ({best[0]}) vs pure encoder ({head.group(1) if head else ''})",
        f"{best[1]} vs {pure.group(2)} items/s = **{best[2]}x**", ">= 0.9x", status)
else:
    row("eval", "evaluation vs pure encoder", "-", ">= 0.9x", status)

print((logs / "device.txt").read_text().strip())
if header:
    print(f"# edit: {header.group(1)}")
print("| part | measure | value | target | status |")
print("|---|---|---|---|---|")
print("\n".join(rows))
EOF
