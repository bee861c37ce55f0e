"""Plain-torch reference of nn.EmbeddingHead (lib/modules/embedding_head.ts).

The same module in Python: nn.Sequential of Linear [-> BatchNorm1d] -> ReLU blocks and a last
Linear ("body"), the BNNeck of Luo et al., "Bag of Tricks and A Strong Baseline for Deep Person
Re-identification" (CVPR-W 2019; BatchNorm1d "neck" whose bias is frozen, bias-free Linear
"classifier" after it; features before the neck for the metric losses in training, after it at
test time) and F.normalize. The weights come from the checkpoint the addon saved, loaded with
torch.load into load_state_dict (strict), so this also checks that the file is a state_dict.

stdin: {"checkpoint", "config": {inFeatures, hiddenFeatures, outFeatures, batchNorm, bnNeck,
normalize, numClasses}, "x": [[...]], "gradEmbeddings", "gradLogits", "evalX"}
stdout: {"embeddings", "logits", "grads": {name: flat list}, "evalEmbeddings", "keys"}
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class EmbeddingHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        layers, width = [], c["inFeatures"]
        for h in c["hiddenFeatures"]:
            layers.append(nn.Linear(width, h))
            if c["batchNorm"]:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            width = h
        layers.append(nn.Linear(width, c["outFeatures"]))
        self.body = nn.Sequential(*layers)
        self.neck = None
        if c["bnNeck"]:
            self.neck = nn.BatchNorm1d(c["outFeatures"])
            self.neck.bias.requires_grad_(False)
        self.classifier = nn.Linear(c["outFeatures"], c["numClasses"], bias=False) if c.get("numClasses") else None
        self.normalize = c["normalize"]

    def forward(self, x):
        features = self.body(x)
        necked = self.neck(features) if self.neck is not None else features
        logits = self.classifier(necked) if self.classifier is not None else None
        emb = features if self.training else necked
        if self.normalize:
            emb = F.normalize(emb, dim=1)
        return emb, logits


def main():
    spec = json.load(sys.stdin)
    model = EmbeddingHead(spec["config"])
    state = torch.load(spec["checkpoint"])
    model.load_state_dict(state, strict=True)
    model.train()
    x = torch.tensor(spec["x"], dtype=torch.float32)
    emb, logits = model(x)
    seeds = [(emb, torch.tensor(spec["gradEmbeddings"], dtype=torch.float32))]
    if logits is not None and spec.get("gradLogits") is not None:
        seeds.append((logits, torch.tensor(spec["gradLogits"], dtype=torch.float32)))
    torch.autograd.backward([s[0] for s in seeds], [s[1] for s in seeds])
    model.eval()
    with torch.no_grad():
        eval_emb, _ = model(torch.tensor(spec["evalX"], dtype=torch.float32))
    out = {
        "keys": sorted(state.keys()),
        "embeddings": emb.detach().reshape(-1).tolist(),
        "logits": None if logits is None else logits.detach().reshape(-1).tolist(),
        "grads": {n: p.grad.reshape(-1).tolist() for n, p in model.named_parameters() if p.grad is not None},
        "evalEmbeddings": eval_emb.reshape(-1).tolist(),
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
