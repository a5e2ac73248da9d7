"""Golden values for the Classifier network (models/classifier/classifier_net.h,
tests/unit/test_classifier_net.c): the same module written in PyTorch (the
one tools/bench/fashion_mnist_torch.py trains, extended with 3-D, residual
blocks and non-image features), one training-mode forward, the loss and every
parameter gradient, the updated BatchNorm statistics, and an eval-mode
forward after it.

Three cases: 2-D plain blocks (two convs each) with non-image features and
cross-entropy; 3-D residual blocks with BCE; an MLP alone on tabular features
with MSE.  Each file holds the parameters under their state_dict names,
"input", "features", "target", "output", "loss", "grad.<name>",
"after.<buffer>" and "output_eval"."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dims, cin, cout, convs, residual):
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv3d
        bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d
        self.residual, self.n = residual, (2 if residual else convs)
        for j in range(self.n):
            setattr(self, f"conv{j + 1}", conv(cin if j == 0 else cout, cout, 3, padding=1, bias=False))
            setattr(self, f"bn{j + 1}", bn(cout))
        if residual and cin != cout:
            self.skip = conv(cin, cout, 1, bias=False)
            self.skip_bn = bn(cout)

    def forward(self, x):
        if not self.residual:
            for j in range(self.n):
                x = F.relu(getattr(self, f"bn{j + 1}")(getattr(self, f"conv{j + 1}")(x)))
            return x
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = self.skip_bn(self.skip(x)) if hasattr(self, "skip") else x
        return F.relu(y + s)


class Classifier(nn.Module):
    def __init__(self, dims, in_channels, widths, convs, residual, features, hidden, outputs):
        super().__init__()
        self.dims = dims
        cins = [in_channels] + widths[:-1]
        self.encoder = nn.ModuleList(Block(dims, a, b, convs, residual) for a, b in zip(cins, widths)
                                     if in_channels)
        sizes = [(widths[-1] if in_channels else 0) + features] + hidden + [outputs]
        self.head = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, image, features):
        parts = []
        if image is not None:
            x = image[:, :, 0] if self.dims == 2 else image  # [N, C, 1, H, W] -> [N, C, H, W]
            pool = F.max_pool2d if self.dims == 2 else F.max_pool3d
            for i, block in enumerate(self.encoder):
                x = block(x)
                if i + 1 < len(self.encoder):
                    x = pool(x, 2)
            parts.append(x.mean(tuple(range(2, x.dim()))))
        if features is not None:
            parts.append(features)
        x = torch.cat(parts, 1)
        for i, layer in enumerate(self.head):
            x = layer(x)
            if i + 1 < len(self.head):
                x = F.relu(x)
        return x


def case(g, net, image, features, target, loss_fn):
    for p in net.parameters():  # weights from the fixture generator, not torch's init
        p.data = torch.randn(p.shape, generator=g) * 0.4
    out = {k: v.clone() for k, v in net.state_dict().items()}
    if image is not None:
        out["input"] = image
    if features is not None:
        out["features"] = features
    out["target"] = target
    net.train()
    y = net(image, features)
    loss = loss_fn(y, target)
    loss.backward()
    out["output"] = y.detach()
    out["loss"] = loss.detach().reshape(())
    for name, p in net.named_parameters():
        out["grad." + name] = p.grad
    for name, b in net.named_buffers():
        out["after." + name] = b.clone()
    net.eval()
    with torch.no_grad():
        out["output_eval"] = net(image, features)
    return out


def generate(save):
    g = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    net = Classifier(2, 1, [4, 6], 2, False, 2, [5], 3)
    image = torch.randn(3, 1, 1, 8, 8, generator=g)
    features = torch.randn(3, 2, generator=g)
    save("classifier_2d.safetensors",
         case(g, net, image, features, torch.tensor([2, 0, 1]), F.cross_entropy))
    net = Classifier(3, 2, [4, 8], 1, True, 0, [], 2)
    image = torch.randn(2, 2, 6, 6, 6, generator=g)
    save("classifier_3d.safetensors",
         case(g, net, image, None, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), F.binary_cross_entropy_with_logits))
    net = Classifier(2, 0, [1], 1, False, 5, [7, 4], 1)
    features = torch.randn(4, 5, generator=g)
    save("classifier_mlp.safetensors", case(g, net, None, features, torch.randn(4, 1, generator=g), F.mse_loss))
