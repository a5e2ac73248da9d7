"""Golden run for tests/unit/test_unet3d_train.c: three Adam steps of a small
InnerEye UNet3D with cross-entropy, in PyTorch, single-threaded.

Stores the initial state_dict ("init.<name>"), the input and labels, the
logits of the first forward pass, the loss of each step and the state_dict
after the third step ("final.<name>")."""
import torch
import torch.nn.functional as F

from innereye_unet3d import UNet3D

STEPS = 3
LR = 1e-3


def generate(save):
    torch.manual_seed(1234)
    model = UNet3D(in_channels=1, classes=3, features=4, depth=2)
    x = torch.randn(2, 1, 8, 16, 16)
    # Labels with structure (a sphere and a slab) rather than noise.
    zz, yy, xx = torch.meshgrid(torch.arange(8), torch.arange(16), torch.arange(16), indexing="ij")
    y = torch.zeros(2, 8, 16, 16, dtype=torch.int64)
    y[0][((zz - 4) ** 2 + (yy - 8) ** 2 + (xx - 8) ** 2) < 16] = 1
    y[1][yy < 5] = 2
    y[1][((zz - 3) ** 2 + (yy - 10) ** 2 + (xx - 6) ** 2) < 9] = 1
    tensors = {"x": x, "y": y}
    tensors.update({"init." + k: v.clone() for k, v in model.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        logits = model(x)
        if step == 0:
            tensors["logits0"] = logits.detach().clone()
        loss = F.cross_entropy(logits, y)
        loss.backward()
        if step == 0:
            for k, p in model.named_parameters():
                tensors["grad0." + k] = p.grad.detach().clone()
        opt.step()
        losses.append(loss.item())
    tensors["losses"] = torch.tensor(losses)
    tensors.update({"final." + k: v.clone() for k, v in model.state_dict().items()})
    save("unet3d_train.safetensors", tensors)
