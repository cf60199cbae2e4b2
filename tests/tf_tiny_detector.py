"""Build a tiny Keras detector with a YOLOv8-layout output, as a .keras file and a SavedModel.

Run by the TF.js tool environment's interpreter (it needs TensorFlow and Keras):
    python tf_tiny_detector.py OUT_DIR
Writes OUT_DIR/tiny_detector.keras and OUT_DIR/tiny_detector_savedmodel/. The output is
[1, 6, 256]: per 4x4 cell a box (cx, cy, w, h in input pixels) and two class scores.
Weights are seeded, so every run builds the same model.
"""

import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

SIZE = 64


def build() -> keras.Model:
    keras.utils.set_random_seed(7)
    image = keras.Input(shape=(SIZE, SIZE, 3), batch_size=1, name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(image)
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Conv2D(6, 1)(x)  # [1, 16, 16, 6]
    x = layers.Reshape((256, 6))(x)
    x = layers.Permute((2, 1))(x)  # [1, 6, 256], channels first like YOLOv8
    x = layers.Activation("sigmoid")(x)
    # Boxes span the input: cx, cy, w, h in 0..64 pixels; the class scores stay in 0..1.
    scale = np.array([SIZE, SIZE, SIZE / 2, SIZE / 2, 1.0, 1.0], dtype=np.float32).reshape(1, 6, 1)
    output = layers.Rescaling(scale, name="detections")(x)
    return keras.Model(image, output, name="tiny_detector")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    model = build()
    model.save(out / "tiny_detector.keras")
    model.export(str(out / "tiny_detector_savedmodel"), format="tf_saved_model", verbose=False)


if __name__ == "__main__":
    main()
