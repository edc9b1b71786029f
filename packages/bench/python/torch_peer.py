"""PyTorch peer of `pnpm bench` (packages/bench/src/peers/torch.ts spawns it).

Protocol: one JSON object per line on stdin, one JSON reply per line on stdout.

  {"op": "info"}                                  -> versions, threads, the BLAS library actually loaded
  {"op": "prepare", "id": "w1", "workload": {...}} -> builds the inputs / model, runs it once: {"warmup_ms": ...}
  {"op": "sample", "id": "w1", "budget_ms": 300, "min_reps": 3}
                                                   -> {"median_ms": ..., "reps": ...}
  {"op": "dispose", "id": "w1"}

Workloads (the same ones the TypeScript side defines in src/workloads.ts):
  {"kind": "gemm", "n": 512}                                  C = A @ B, all n x n
  {"kind": "conv", "batch", "h", "w", "c", "f", "k", "padding": "valid" | "same"}   NCHW / OIHW, stride 1
  {"kind": "train", "batch", "plan": [...]}   one training step of the CNN (dropout on, Adam 1e-3)
  {"kind": "infer", "batch", "plan": [...]}   the same CNN's forward pass in eval mode, no autograd

Threads are fixed by the parent: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS in the environment (read by the
libraries when they load) and `torch.set_num_threads` here, from --threads.
"""
import ctypes
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def blas_libraries():
    """Shared libraries mapped into this process whose name says BLAS or LAPACK."""
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split()
                if len(parts) >= 6 and ("blas" in parts[5].lower() or "mkl" in parts[5].lower()):
                    found.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return sorted(found)


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def sgemm_provider():
    """The file whose `sgemm_` torch's own library resolves to (dlsym through libtorch_cpu's handle, which
    searches it and its dependencies in load order, as the dynamic linker did), or None."""
    try:
        libtorch = next((p for p in blas_candidates() if "libtorch_cpu" in p), None)
        if libtorch is None:
            return None
        handle = ctypes.CDLL(libtorch)
        addr = ctypes.cast(handle.sgemm_, ctypes.c_void_p).value
        info = _DlInfo()
        libc = ctypes.CDLL(None)
        if libc.dladdr(ctypes.c_void_p(addr), ctypes.byref(info)) == 0 or info.dli_fname is None:
            return None
        return os.path.realpath(info.dli_fname.decode())
    except (OSError, AttributeError, ValueError):
        return None


def blas_candidates():
    out = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            parts = line.split()
            if len(parts) >= 6 and parts[5].startswith("/"):
                out.add(parts[5])
    return sorted(out)


def classify_blas(path):
    """'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown' from the path of the library providing sgemm_."""
    p = (path or "").lower()
    if "openblas" in p:
        return "openblas"
    if "mkl" in p:
        return "mkl"
    if "blis" in p:
        return "blis"
    if "/blas/" in p or "libblas.so" in p:
        # Debian's netlib reference BLAS: .../x86_64-linux-gnu/blas/libblas.so.3
        return "reference"
    return "unknown"


def gemm_gflops(n=256, reps=5):
    a = torch.rand(n, n)
    b = torch.rand(n, n)
    torch.mm(a, b)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    times.sort()
    return 2 * n ** 3 / times[len(times) // 2] / 1e9


def build_cnn(plan):
    """The CNN from the TypeScript side's plan (src/workloads.ts planCnn): layers with their input shapes
    ([h, w, c] or [features]). Convolutions are followed by a relu; pooling is max 2x2 stride 2."""
    mods = []
    for p in plan:
        layer, ins = p["layer"], p["inShape"]
        kind = layer["kind"]
        if kind == "conv":
            padding = "same" if layer["padding"] == "same" else 0
            mods += [nn.Conv2d(ins[2], layer["filters"], layer["k"], padding=padding), nn.ReLU()]
        elif kind == "pool":
            mods.append(nn.MaxPool2d(2))
        elif kind == "dropout":
            mods.append(nn.Dropout(layer["rate"]))
        elif kind == "flatten":
            mods.append(nn.Flatten())
        elif kind == "dense":
            mods.append(nn.Linear(ins[0], layer["units"]))
            if layer["relu"]:
                mods.append(nn.ReLU())
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return nn.Sequential(*mods)


def build(w):
    """A thunk that runs the workload once to completion."""
    torch.manual_seed(1)
    kind = w["kind"]
    if kind == "gemm":
        n = w["n"]
        a, b = torch.rand(n, n), torch.rand(n, n)
        return lambda: torch.mm(a, b)
    if kind == "conv":
        x = torch.rand(w["batch"], w["c"], w["h"], w["w"])
        wt = torch.rand(w["f"], w["c"], w["k"], w["k"])
        padding = w["padding"]

        def conv():
            with torch.no_grad():
                return F.conv2d(x, wt, padding=padding)

        return conv
    if kind in ("train", "infer"):
        batch = w["batch"]
        model = build_cnn(w["plan"])
        x = torch.rand(batch, 1, 28, 28)
        y = torch.tensor([(i * 7) % 10 for i in range(batch)])
        if kind == "infer":
            model.eval()

            def infer():
                with torch.no_grad():
                    return F.softmax(model(x), dim=1)

            return infer
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        return step
    raise ValueError(f"unknown workload kind {kind!r}")


def sample(run, budget_ms, min_reps):
    times = []
    out = None
    start = time.perf_counter()
    while len(times) < min_reps or ((time.perf_counter() - start) * 1000 < budget_ms and len(times) < 1000):
        t0 = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 == 1 else (times[n // 2 - 1] + times[n // 2]) / 2
    reply = {"median_ms": med, "reps": n}
    if isinstance(out, float):
        reply["loss"] = out  # a training step returns its loss
    return reply


def main():
    threads = 1
    if "--threads" in sys.argv:
        threads = int(sys.argv[sys.argv.index("--threads") + 1])
    torch.set_num_threads(threads)
    prepared = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        try:
            op = req["op"]
            if op == "info":
                gflops = gemm_gflops()
                libs = blas_libraries()
                provider = sgemm_provider()
                reply = {
                    "torch": torch.__version__,
                    "python": sys.version.split()[0],
                    "threads": torch.get_num_threads(),
                    "blas_libraries": libs,
                    "sgemm_provider": provider,
                    "blas": classify_blas(provider),
                    "blas_build": "BLAS_INFO=" + torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0]
                    if "BLAS_INFO=" in torch.__config__.show() else "?",
                    "gemm256_gflops": gflops,
                    "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                           "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
                }
            elif op == "prepare":
                run = build(req["workload"])
                t0 = time.perf_counter()
                out = run()
                prepared[req["id"]] = run
                reply = {"warmup_ms": (time.perf_counter() - t0) * 1000}
                if isinstance(out, float):
                    reply["loss"] = out
            elif op == "sample":
                reply = sample(prepared[req["id"]], req["budget_ms"], req["min_reps"])
            elif op == "dispose":
                prepared.pop(req["id"], None)
                reply = {"ok": True}
            else:
                raise ValueError(f"unknown op {op!r}")
        except Exception as e:  # reported to the parent, which prints it and skips the workload
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
