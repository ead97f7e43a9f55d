"""The decoder's glimpse attention, written out versus the fused kernel, at the decoder's shapes.

One query per rollout (all-start: S = n rollouts per instance) over N = n + 1 nodes, 8 heads of 16,
with an action mask; forward alone (no grad) and forward + backward. Medians over repeats, the two
implementations alternated so that machine noise hits both alike.

    python scripts/bench.py glimpse [--threads 2] [--repeats 25]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from nco.models.decoder import Decoder
from nco.models.layers import split_heads


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=25)


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("| n | batch | pass | written out (ms) | fused (ms) | ratio |")
    print("|---|---|---|---|---|---|")
    for n, batch in ((50, 64), (100, 32)):
        decoder = Decoder(dim=128, num_heads=8)
        embeddings = torch.randn(batch, n + 1, 128, requires_grad=True)
        query = torch.randn(batch, n, 128, requires_grad=True)
        mask = torch.rand(batch, n, n + 1) > 0.3
        mask[..., 0] = True
        blocked = torch.zeros(mask.shape).masked_fill(~mask, float("-inf"))
        keys, values, _ = decoder.keys_values(embeddings).chunk(3, dim=-1)
        fused_keys, fused_values = split_heads(keys, 8), split_heads(values, 8)

        cache = decoder.precompute(embeddings, torch.ones(batch, n + 1, dtype=torch.bool))

        def written_out():
            return decoder.glimpse(cache, query, blocked)

        def fused():
            return F.scaled_dot_product_attention(split_heads(query, 8), fused_keys, fused_values, attn_mask=mask[:, None])

        for backward in (False, True):
            times = {written_out: [], fused: []}
            for repeat in range(args.repeats + 3):
                for function in times:
                    began = time.perf_counter()
                    if backward:
                        function().sum().backward(retain_graph=True)
                    else:
                        with torch.no_grad():
                            function()
                    if repeat >= 3:
                        times[function].append(1000 * (time.perf_counter() - began))
            ours, theirs = (statistics.median(times[f]) for f in (written_out, fused))
            label = "forward + backward" if backward else "forward"
            print(f"| {n} | {batch} | {label} | {ours:.2f} | {theirs:.2f} | {theirs / ours:.2f}x |", flush=True)
