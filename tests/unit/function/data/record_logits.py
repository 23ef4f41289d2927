"""Records the logits that test_inference_qa.py decodes with both decoders (run once, by hand).

    .venv/bin/python tests/unit/function/data/record_logits.py

For each offline model: the first 24 SQuAD v1.1 dev questions, plus 4 questions whose context is
repeated until it spans several windows; their start/end logits (float32) and context masks, from
the torch engine, into recorded_logits.npz beside this file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("LAMBDA_INFERENCE_SHARED", HERE.parents[3].parent / "shared"))
SNAPSHOTS = {
    "nlp1": "models--local--minilm-l6-h384-squad/snapshots/cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411",
    "nlp2": "models--local--minilm-l3-h384-squad/snapshots/7b1d26e8fd7dfeba584d828213e5c65d51f52219",
}


def main() -> None:
    from inference import qa
    from inference.engines import torch_runtime

    data = json.loads((SHARED / "squad" / "dev-v1.1.json").read_text())["data"]
    pairs = [(q["question"], p["context"]) for a in data for p in a["paragraphs"] for q in p["qas"]]
    cases = pairs[:24] + [(q, " ".join([c] * 8)) for q, c in pairs[100:104]]
    arrays: dict[str, np.ndarray] = {}
    for model_type, snapshot in SNAPSHOTS.items():
        model = torch_runtime.load_model(SHARED / "hf-cache" / snapshot)
        for index, (question, context) in enumerate(cases):
            windows = qa.encode(model.tokenizer, question, context)
            start, end = qa.forward(model.engine, windows)
            name = f"{model_type}-{index:02d}"
            arrays[f"{name}/start"], arrays[f"{name}/end"] = start, end
            arrays[f"{name}/mask"] = windows.context_mask
    np.savez_compressed(HERE / "recorded_logits.npz", **arrays)
    print(f"recorded {len(arrays) // 3} cases into {HERE / 'recorded_logits.npz'}")


if __name__ == "__main__":
    main()
