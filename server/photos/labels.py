"""Machine labels: what a photo shows, as a pretrained detector sees it. Pure: pixels in, labels out.

The detector is OpenCV's frontal cat-face Haar cascade
(`haarcascade_frontalcatface_extended.xml`, Joseph Howse, BSD-3-Clause-style
licence in the file's header), shipped inside `opencv-python-headless`:
nothing is downloaded at run time. It finds upright, frontal cat faces; a cat
seen from behind or asleep and curled up is not found (see docs/photos-and-cats.md
for its measured precision, recall and speed).

A label is `{"name", "score", "by"}`: the cascade gives no probability, so
`score` is None; `by` names the detector and the OpenCV version that ran it,
so a relabel with another detector or version can tell its labels apart.

The image is first scaled down so that its longest side is at most LABEL_SIDE
pixels and turned to grey: the detector's time and memory are bounded whatever
the upload's size (a 40-megapixel upload is labelled from at most 0.4 megapixel; the
detector's buffers for it, about 40 MB, are given back after each labelling).
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from PIL import Image

log = logging.getLogger(__name__)

LABEL_SIDE = 640
CASCADE_FILE = "haarcascade_frontalcatface_extended.xml"
# The smallest cat face looked for, in pixels of the scaled image.
MIN_FACE = 24
# Label names the labellers can produce: any other asked for matches nothing.
KNOWN_LABELS = frozenset({"cat"})


def grey_for_labelling(image, side=LABEL_SIDE):
    """A small greyscale copy (longest side at most `side`): the only pixels the detector sees."""
    scale = min(1.0, side / max(image.size))
    small = image
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        # reducing_gap: Pillow first shrinks by whole factors (cheap), then resamples.
        small = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return small.convert("L")


class CatFaceLabeller:
    """Labels an image `cat` when OpenCV's cat-face cascade finds at least one face."""

    name = "opencv-haarcascade-frontalcatface-extended"

    def __init__(self, min_neighbors=3, scale_factor=1.1):
        import cv2  # imported on first use: the app starts without loading OpenCV

        self._cv2 = cv2
        self.path = cv2.data.haarcascades + CASCADE_FILE
        self.by = f"{self.name}@opencv-{cv2.__version__}"
        self.min_neighbors, self.scale_factor = min_neighbors, scale_factor
        self._classifier()  # fail here, not at each upload, when the file is missing

    def _classifier(self):
        """A fresh classifier (about 20 ms to load). Not one kept per thread: a classifier keeps
        its working buffers for the largest image it saw (about 40 MB at 640 px, 100 MB at
        1024 px), and a fresh one gives them back when it goes."""
        classifier = self._cv2.CascadeClassifier(self.path)
        if classifier.empty():
            raise RuntimeError(f"could not load the cascade {self.path}")
        return classifier

    def faces(self, image):
        """The cat faces found, as (x, y, w, h) in the scaled image's pixels."""
        import numpy as np

        grey = np.asarray(grey_for_labelling(image))
        found = self._classifier().detectMultiScale(grey, scaleFactor=self.scale_factor,
                                                    minNeighbors=self.min_neighbors,
                                                    minSize=(MIN_FACE, MIN_FACE))
        return [tuple(int(v) for v in box) for box in found]

    def __call__(self, image):
        """The labels of a Pillow image: `[{"name": "cat", "score": None, "by": ...}]` or []."""
        return [{"name": "cat", "score": None, "by": self.by}] if self.faces(image) else []


def label_names(labels):
    """The names of a photo's labels, distinct, as stored for queries (`label_names`)."""
    return list(dict.fromkeys(label["name"] for label in labels))


class GuardedLabeller:
    """Runs a labeller with a time limit, so that a label never blocks an upload.

    The labeller (made by `factory` on first use) runs on a worker thread and
    sees only the small grey copy, made here by the caller (inside its decode
    slot): a labelling that overruns `timeout` is given up and its worker keeps
    no large image. At most `workers` labellings run and as many more wait;
    beyond that, uploads are stored unlabelled. An error, a time-out or a full
    queue answers None and is logged: the photo is then stored without labels
    (`flask photos relabel` labels it later).
    """

    def __init__(self, factory, timeout, workers=2):
        self._factory, self.timeout = factory, timeout
        self._labeller = None
        self._made = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labeller")
        self._room = threading.BoundedSemaphore(2 * workers)

    def _label(self, grey):
        with self._made:
            if self._labeller is None:
                self._labeller = self._factory()
        return self._labeller(grey)

    def __call__(self, image, what="an upload"):
        """The labels of a Pillow image, or None when there are none to trust."""
        if not self._room.acquire(blocking=False):
            log.warning("labeller busy: %s stored without labels", what)
            return None
        try:
            future = self._pool.submit(self._label, grey_for_labelling(image))
        except Exception:
            self._room.release()
            log.exception("labeller failed on %s: stored without labels", what)
            return None
        future.add_done_callback(lambda _future: self._room.release())
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()
            log.warning("labeller timed out after %ss on %s: stored without labels", self.timeout, what)
        except Exception:
            log.exception("labeller failed on %s: stored without labels", what)
        return None
