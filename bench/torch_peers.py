"""PyTorch 1.13 / torchvision 0.14 single-thread timings of the dense and RoI benchmark rows
(same shapes; NMS is left out because its time depends on the box set),
for the README's peer column (run on the same machine, right after `npm run bench`).

Usage: /usr/bin/python3 bench/torch_peers.py  -> prints `name: median ms` lines and writes bench/results.torch.json
"""
import json
import os
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision

torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=g)


def median_ms(fn, min_runs=5, budget_s=3.0):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget_s:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        if len(times) >= 200:
            break
    return statistics.median(times)


x64 = randn(1, 64, 128, 128)
w64 = randn(64, 64, 3, 3)
img = randn(8, 3, 224, 224)
w7 = randn(64, 3, 7, 7)
dw_x, dw_w = randn(1, 256, 64, 64), randn(256, 1, 3, 3)
ct_x, ct_w = randn(1, 64, 64, 64), randn(64, 32, 4, 4)
pool_x = randn(8, 64, 112, 112)
small = randn(1, 21, 64, 64)
feat = randn(1, 256, 50, 68)
k = 1000
xy = torch.rand(k, 2, generator=g) * torch.tensor([68 * 16 - 64, 50 * 16 - 64])
wh = 16 + torch.rand(k, 2, generator=g) * 300
rois = torch.cat([torch.zeros(k, 1), xy, xy + wh], 1)

rows = {
    "conv2d 3x3 64->64 p1, 1x64x128x128": lambda: F.conv2d(x64, w64, padding=1),
    "conv2d 7x7 s2 p3 3->64, 8x3x224x224": lambda: F.conv2d(img, w7, stride=2, padding=3),
    "depthwise 3x3 p1, 1x256x64x64": lambda: F.conv2d(dw_x, dw_w, padding=1, groups=256),
    "conv2d 3x3 dilation 4 p4 64->64, 1x64x128x128": lambda: F.conv2d(x64, w64, padding=4, dilation=4),
    "convTranspose2d 4x4 s2 p1 64->32, 1x64x64x64": lambda: F.conv_transpose2d(ct_x, ct_w, stride=2, padding=1),
    "maxPool2d 3x3 s2 p1 + indices, 8x64x112x112": lambda: F.max_pool2d(pool_x, 3, 2, 1, return_indices=True),
    "interpolate bilinear 1x21x64x64 -> 512x512": lambda: F.interpolate(small, size=(512, 512), mode="bilinear", align_corners=False),
    "interpolate bicubic 1x21x64x64 -> 512x512": lambda: F.interpolate(small, size=(512, 512), mode="bicubic", align_corners=False),
    "roiAlign 1000 boxes -> 7x7 from 1x256x50x68 (sampling 2, aligned, scale 1/16)": lambda: torchvision.ops.roi_align(feat, rois, 7, 1 / 16, 2, True),
    "roiPool 1000 boxes -> 7x7 from 1x256x50x68": lambda: torchvision.ops.roi_pool(feat, rois, 7, 1 / 16),
}

out = {}
for name, fn in rows.items():
    out[name] = median_ms(fn)
    print(f"{name}: {out[name]:.2f} ms", flush=True)
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.torch.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": 1, "median_ms": out}, f, indent=1)
