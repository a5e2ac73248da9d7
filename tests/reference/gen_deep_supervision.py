"""Golden values for deep supervision's loss (tests/unit/test_deep_supervision.c).

nnU-Net's DeepSupervisionWrapper around DC_and_CE: the network output and two
auxiliary outputs at coarser sizes, finest first, each compared with the
labels downsampled by PyTorch's interpolate(mode="nearest-exact") (nnU-Net
v2's DownsampleSegForDSTransform), the losses weighted 1, 1/2, 1/4 and
normalised (4/7, 2/7, 1/7).  Each loss is cross-entropy (PyTorch's) + soft
Dice (gen_loss.soft_dice, InnerEye's formula), train.loss Mixture [1, 1].
The second auxiliary output halves D once and H, W twice (anisotropic
pooling).  Inputs float32, everything computed in float64."""
import torch
import torch.nn.functional as F

from gen_loss import soft_dice

SIZES = [(8, 8, 4), (4, 4, 2), (4, 2, 1)]


def generate(save):
    g = torch.Generator().manual_seed(18)
    labels = torch.randint(0, 3, (2, *SIZES[0]), generator=g)
    outs = [torch.randn(2, 3, *s, generator=g).float() for s in SIZES]
    leaves = [o.double().requires_grad_(True) for o in outs]
    weights = torch.tensor([1 / 2 ** i for i in range(len(SIZES))], dtype=torch.float64)
    weights = weights / weights.sum()
    total = 0
    tensors = {"labels": labels}
    for i, (x, size) in enumerate(zip(leaves, SIZES)):
        y = F.interpolate(labels[:, None].double(), size=size, mode="nearest-exact")[:, 0].long()
        tensors["labels_%d" % i] = y
        total = total + weights[i] * (F.cross_entropy(x, y) + soft_dice(x, y))
    total.backward()
    tensors["loss"] = total.detach().float().reshape(1)
    for i, (o, x) in enumerate(zip(outs, leaves)):
        tensors["out_%d" % i] = o
        tensors["grad_%d" % i] = x.grad.float()
    save("deep_supervision.safetensors", tensors)
