"""InnerEye-DeepLearning's "Basic" segmentation architecture (ComplexModel
built by model_util.build_net for architecture="Basic"), re-stated in PyTorch
as the reference for models/basic.

full_channels = [in_channels, *feature_channels (8 values), classes]:
  _layers.0  BasicLayer  ch0 -> ch1, 3x3x3, dilation 1
  _layers.1  BasicLayer  ch1 -> ch2, 3x3x3, dilation 1
  _layers.2  ResidualBlock ch2 -> ch3 -> ch4, dilations 2, 2
  _layers.3  ResidualBlock ch4 -> ch5 -> ch6, dilations 2, 2
  _layers.4  ResidualBlock ch6 -> ch7 -> ch8, dilations 2, 2
  _layers.5  Conv3d ch8 -> ch9, 1x1x1, bias
Every conv is unpadded (InnerEye's PaddingMode.NoPadding default of BasicLayer)
and has a bias; BasicLayer = conv -> BatchNorm -> [ReLU].  Each axis shrinks
by 2 + 2 + 3 * (4 + 4) = 28 voxels (InnerEye's basic_size_shrinkage).

ResidualBlock (InnerEye's blocks/residual.py): layers.0 (with ReLU) then
layers.1 (no ReLU), the input cropped by 4 voxels per side added (through
`conv`, a 1x1x1 BasicLayer without ReLU, when ch_in != ch_out), then ReLU.
InnerEye copies the input with torch.tensor(x), which detaches it: no gradient
flows back through the residual path.  That is reproduced here with
x.detach().clone().

Initialisation (build_net's init_weights after BasicLayer's own): conv weights
N(0, 0.01), BasicLayer conv biases 0, BatchNorm weight 1 and bias 0; the last
conv's bias keeps torch's default."""
import torch
from torch import nn

SHRINKAGE = 28


class BasicLayer(nn.Module):
    def __init__(self, cin, cout, kernel=3, dilation=1, activation=True):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, kernel, dilation=dilation, bias=True)
        self.bn1 = nn.BatchNorm3d(cout)
        self.activation = nn.ReLU() if activation else None

    def forward(self, x):
        x = self.bn1(self.conv1(x))
        return self.activation(x) if self.activation is not None else x


class ResidualBlock(nn.Module):
    def __init__(self, channels, dilations):
        super().__init__()
        self.layers = nn.ModuleList([BasicLayer(channels[0], channels[1], 3, dilations[0], activation=True),
                                     BasicLayer(channels[1], channels[2], 3, dilations[1], activation=False)])
        self.conv = None if channels[0] == channels[2] else \
            BasicLayer(channels[0], channels[2], kernel=1, activation=False)

    def forward(self, x):
        residual = x.detach().clone()  # InnerEye: torch.tensor(x)
        for layer in self.layers:
            x = layer(x)
        c = [(residual.shape[i + 2] - s) // 2 for i, s in enumerate(x.shape[2:])]
        residual = residual[:, :, c[0]:-c[0], c[1]:-c[1], c[2]:-c[2]]
        if self.conv is not None:
            residual = self.conv(residual)
        return torch.relu(x + residual)


class BasicModel(nn.Module):
    def __init__(self, in_channels, feature_channels, classes):
        super().__init__()
        assert len(feature_channels) == 8
        ch = [in_channels, *feature_channels, classes]
        self._layers = nn.ModuleList([
            BasicLayer(ch[0], ch[1]), BasicLayer(ch[1], ch[2]),
            ResidualBlock(ch[2:5], [2, 2]), ResidualBlock(ch[4:7], [2, 2]), ResidualBlock(ch[6:9], [2, 2]),
            nn.Conv3d(ch[8], ch[9], kernel_size=1)])
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.normal_(m.weight, 0, 0.01)
            if isinstance(m, BasicLayer):
                nn.init.zeros_(m.conv1.bias)

    def forward(self, x):
        for layer in self._layers:
            x = layer(x)
        return x
