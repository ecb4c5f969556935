"""How well the photo labeller finds cats: precision, recall and time per megapixel.

    .venv/bin/python -m bench.cat_labeller_eval [--repeat 3]

Images: scikit-image's bundled photos (files inside the wheel, never fetched):
`chelsea` and `cat` are cats (in scikit-image 0.26 both are the same photo of
Chelsea), the others are not. Each image is also seen through variants: a
mirror image, crops, scalings, darker and brighter versions and JPEG
round-trips, as uploads would bring them. Every variant is labelled through
the server's own code (server/photos/labels.py: the grey copy of at most
640 px, then the cascade), so the figures are the server's.

Time per megapixel is the labeller's wall time (and CPU time of the process,
all threads) over the megapixels of the image it was given, the median over
all images; on a shared machine the wall time is noisy, the CPU time less so.
"""

import argparse
import io
import statistics
import time

import numpy as np
from PIL import Image, ImageEnhance, ImageOps
from skimage import data as skdata

from server.photos.labels import CatFaceLabeller

CATS = ["chelsea", "cat"]
NON_CATS = ["astronaut", "coffee", "camera", "rocket", "coins", "horse", "moon", "page", "text", "retina",
            "hubble_deep_field", "brick", "grass", "gravel", "logo", "immunohistochemistry", "clock", "cell"]


def bundled(name):
    array = np.asarray(getattr(skdata, name)())
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    if array.ndim == 3:
        array = array[..., :3]
    return Image.fromarray(array).convert("RGB")


def _crop(image, keep, anchor):
    w, h = image.size
    cw, ch = round(w * keep), round(h * keep)
    x = {"left": 0, "centre": (w - cw) // 2, "right": w - cw}[anchor]
    return image.crop((x, (h - ch) // 2, x + cw, (h - ch) // 2 + ch))


def _scaled(image, factor):
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)


def _jpeg(image, quality):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


VARIANTS = {
    "original": lambda im: im,
    "mirror": ImageOps.mirror,
    "crop 90% centre": lambda im: _crop(im, 0.9, "centre"),
    "crop 80% left": lambda im: _crop(im, 0.8, "left"),
    "crop 80% right": lambda im: _crop(im, 0.8, "right"),
    "scale 0.5": lambda im: _scaled(im, 0.5),
    "scale 0.75": lambda im: _scaled(im, 0.75),
    "scale 2": lambda im: _scaled(im, 2.0),
    "scale 4": lambda im: _scaled(im, 4.0),
    "darker 0.6": lambda im: ImageEnhance.Brightness(im).enhance(0.6),
    "brighter 1.4": lambda im: ImageEnhance.Brightness(im).enhance(1.4),
    "jpeg q90": lambda im: _jpeg(im, 90),
    "jpeg q75": lambda im: _jpeg(im, 75),
}


def evaluate(labeller, repeat=1):
    rows = []  # (image, variant, is_cat, labelled_cat, ms, megapixels)
    for name in CATS + NON_CATS:
        base = bundled(name)
        for variant, make in VARIANTS.items():
            image = make(base)
            times, cpu = [], []
            for _ in range(repeat):
                start, start_cpu = time.perf_counter(), time.process_time()
                found = labeller(image)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            rows.append((name, variant, name in CATS, any(label["name"] == "cat" for label in found),
                         min(times) * 1000, image.width * image.height / 1e6, min(cpu) * 1000))
    return rows


def report(rows, by):
    tp = sum(1 for r in rows if r[2] and r[3])
    fp = sum(1 for r in rows if not r[2] and r[3])
    fn = sum(1 for r in rows if r[2] and not r[3])
    tn = sum(1 for r in rows if not r[2] and not r[3])
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    ms_per_mp = statistics.median(r[4] / r[5] for r in rows)
    cpu_per_mp = statistics.median(r[6] / r[5] for r in rows)
    lines = [f"labeller: {by}",
             f"images: {len(CATS)} cat photos and {len(NON_CATS)} others x {len(VARIANTS)} variants = {len(rows)}",
             "",
             "| | labelled cat | not labelled |", "|---|---|---|",
             f"| cat | {tp} | {fn} |", f"| not a cat | {fp} | {tn} |",
             "",
             f"precision {precision:.2f}, recall {recall:.2f}",
             f"median per megapixel of the image given (at most 640 px a side is looked at): {ms_per_mp:.0f} ms wall, "
             f"{cpu_per_mp:.0f} ms CPU (all threads)",
             "", "| variant | cats found | false cats |", "|---|---|---|"]
    for variant in VARIANTS:
        mine = [r for r in rows if r[1] == variant]
        found = sum(1 for r in mine if r[2] and r[3])
        false = [r[0] for r in mine if not r[2] and r[3]]
        lines.append(f"| {variant} | {found}/{sum(1 for r in mine if r[2])} | {', '.join(false) or '-'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="time each image this many times (the fastest counts)")
    args = parser.parse_args()
    labeller = CatFaceLabeller()
    print(report(evaluate(labeller, args.repeat), labeller.by))


if __name__ == "__main__":
    main()
