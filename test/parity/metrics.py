#!/usr/bin/python3
"""Reference of metrics.* (lib/metrics.ts): CMC / Recall@K and mAP of retrieval with a query /
gallery split, in plain numpy after torch's distance matrix.

    /usr/bin/python3 test/parity/metrics.py [OUT_FILE]   (default test/parity/training-fixtures/metrics.json)

The Market-1501 protocol (Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV
2015) as torchreid's eval_market1501 (torchreid/metrics/rank.py) computes it, written out here
loop by loop: per query, the gallery sorted by ascending distance (a stable sort, so ties keep
gallery order; torchreid's np.argsort is not stable), gallery entries with the query's identity
and camera removed, queries without any remaining match skipped; cmc = cumsum(matches) clipped
to 1; AP = mean over the matches of (number of matches so far / rank). Recall@K (Oh Song et al.,
CVPR 2016: a query counts when a same-label item is among its K nearest) is CMC at rank K.
Distances: 'euclidean' sqrt(clamp(|q|^2 + |g|^2 - 2 q.g, 1e-12)) (as the addon), 'cosine'
1 - cos.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def distances(q, g, distance):
    if distance == "cosine":
        return 1.0 - F.normalize(q, dim=1) @ F.normalize(g, dim=1).t()
    d2 = (q * q).sum(1)[:, None] + (g * g).sum(1)[None, :] - 2.0 * q @ g.t()
    return d2.clamp(min=1e-12).sqrt()


def market1501(distmat, q_pids, g_pids, q_camids, g_camids, max_rank):
    all_cmc, all_ap = [], []
    ap_per_query = []
    for i in range(distmat.shape[0]):
        order = np.argsort(distmat[i], kind="stable")
        match = g_pids[order] == q_pids[i]
        if q_camids is not None:
            remove = match & (g_camids[order] == q_camids[i])
            match = match[~remove]
        if not match.any():
            ap_per_query.append(None)
            continue
        cmc = match.cumsum()
        cmc[cmc > 1] = 1
        cmc = np.concatenate([cmc, np.ones(max(0, max_rank - len(cmc)))])  # saturated past the gallery
        all_cmc.append(cmc[:max_rank])
        hits = match.cumsum()
        precision = np.array([hits[j] / (j + 1.0) for j in range(len(match))]) * match
        ap = precision.sum() / match.sum()
        all_ap.append(ap)
        ap_per_query.append(ap)
    return np.mean(np.array(all_cmc, dtype=np.float64), axis=0), float(np.mean(all_ap)), ap_per_query, len(all_ap)


def case(name, seed, nq, ng, ids, dim, cameras, distance, max_rank=10):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(ids, dim, generator=g)
    q_pids = torch.randint(0, ids, (nq,), generator=g)
    g_pids = torch.cat([torch.arange(ids), torch.randint(0, ids, (ng - ids,), generator=g)])
    q = centers[q_pids] + 0.9 * torch.randn(nq, dim, generator=g)
    gal = centers[g_pids] + 0.9 * torch.randn(ng, dim, generator=g)
    q_cam = torch.randint(0, cameras, (nq,), generator=g) if cameras else None
    g_cam = torch.randint(0, cameras, (ng,), generator=g) if cameras else None
    dist = distances(q.double(), gal.double(), distance).numpy()
    cmc, m_ap, aps, valid = market1501(dist, q_pids.numpy(), g_pids.numpy(),
                                       None if q_cam is None else q_cam.numpy(),
                                       None if g_cam is None else g_cam.numpy(), max_rank)
    return {
        "name": name, "distance": distance, "maxRank": max_rank,
        "query": q.reshape(-1).tolist(), "gallery": gal.reshape(-1).tolist(), "dim": dim,
        "queryLabels": q_pids.tolist(), "galleryLabels": g_pids.tolist(),
        "queryCameras": None if q_cam is None else q_cam.tolist(),
        "galleryCameras": None if g_cam is None else g_cam.tolist(),
        "cmc": cmc.tolist(), "mAP": m_ap, "averagePrecision": aps, "validQueries": valid,
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "training-fixtures", "metrics.json")
    cases = [
        case("euclidean, no cameras", 0, 20, 40, 8, 6, 0, "euclidean"),
        case("euclidean, 3 cameras (same-camera matches removed)", 1, 25, 50, 10, 5, 3, "euclidean"),
        case("cosine, 2 cameras, maxRank 20", 2, 15, 30, 12, 4, 2, "cosine", 20),
        case("gallery smaller than maxRank", 3, 6, 6, 3, 3, 2, "euclidean", 10),
    ]
    with open(out, "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
