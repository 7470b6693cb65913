"""Write the example's test jsonl: one row per image of a dataset's test split (by reference, with label).

    .venv/bin/python examples/crc-patch-offload/make_data.py [--dataset cifar10] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jointbench.datasets.image_splits import IMAGE_DATASETS, load_image_splits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cifar10", choices=sorted(IMAGE_DATASETS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    splits = load_image_splits(args.dataset, args.seed)
    out = Path(__file__).parent / "data" / f"{args.dataset.replace('-', '_')}_test.jsonl"
    with out.open("w", encoding="utf-8") as fh:
        for i, y in enumerate(splits.y_test.tolist()):
            fh.write(json.dumps({"question": {"dataset": args.dataset, "split_seed": args.seed, "index": i},
                                 "answer": int(y)}) + "\n")
    print(f"wrote {len(splits.y_test)} rows to {out}")


if __name__ == "__main__":
    main()
