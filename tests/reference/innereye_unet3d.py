"""InnerEye-DeepLearning's UNet3D, re-stated in PyTorch as the reference for
the C engine (golden tests, checkpoint conversion, benchmarks).

Module names reproduce InnerEye's state_dict keys:
  _layers.0.block1.conv1.weight, _layers.0.block1.bn1.*, _layers.0.block2...,
  _layers.5.upsample_block.{0,1}.*, _layers.6.conv1.conv1.weight,
  _layers.6.conv2.conv1.weight, _layers.6.activation_block.0.*,
  _layers.6.block2.{conv1,bn1}.*, ..., output_layer.{weight,bias}.

UNet2D is InnerEye's UNet2D: this UNet3D with kernel_size (1, 3, 3),
downsampling_factor (1, 2, 2) and downsampling_dilation (1, 2, 2) (the second
conv of encoder blocks 1..depth), so transposed convs 1x4x4, stride (1, 2, 2),
padding (0, 1, 1).  Padding follows InnerEye's get_padding_from_kernel_size:
0 for a kernel of 1, else (k - 1) // 2 + dilation - 1."""
import torch
from torch import nn


def same_padding(kernel, dilation=(1, 1, 1)):
    return tuple(0 if k == 1 else (k - 1) // 2 + d - 1 for k, d in zip(kernel, dilation))


class BasicLayer(nn.Module):
    """conv (no bias) [-> BN -> ReLU]."""

    def __init__(self, cin, cout, stride=1, norm=True, kernel=(3, 3, 3), dilation=(1, 1, 1)):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, kernel, stride=stride, padding=same_padding(kernel, dilation),
                               dilation=dilation, bias=False)
        self.norm = norm
        if norm:
            self.bn1 = nn.BatchNorm3d(cout)
            self.activation = nn.ReLU(inplace=False)

    def forward(self, x):
        x = self.conv1(x)
        return self.activation(self.bn1(x)) if self.norm else x


class EncodeBlock(nn.Module):
    def __init__(self, cin, cout, stride, kernel=(3, 3, 3), dilation=(1, 1, 1)):
        super().__init__()
        self.block1 = BasicLayer(cin, cout, stride, kernel=kernel)
        self.block2 = BasicLayer(cout, cout, 1, kernel=kernel, dilation=dilation)

    def forward(self, x):
        x = self.block1(x)
        return self.block2(x) + x


class DecodeBlock(nn.Module):
    def __init__(self, cin, cout, kernel=(4, 4, 4), stride=(2, 2, 2), padding=(1, 1, 1)):
        super().__init__()
        self.upsample_block = nn.Sequential(
            nn.ConvTranspose3d(cin, cout, kernel, stride=stride, padding=padding, bias=True),
            nn.BatchNorm3d(cout), nn.ReLU(inplace=False))

    def forward(self, x):
        return self.upsample_block(x)


class SynthesisBlock(nn.Module):
    def __init__(self, channels, kernel=(3, 3, 3)):
        super().__init__()
        self.conv1 = BasicLayer(channels, channels, norm=False, kernel=kernel)
        self.conv2 = BasicLayer(channels, channels, norm=False, kernel=kernel)
        self.activation_block = nn.Sequential(nn.BatchNorm3d(channels), nn.ReLU(inplace=False))
        self.block2 = BasicLayer(channels, channels, kernel=kernel)

    def forward(self, x, skip):
        x = self.conv1(x) + self.conv2(skip)
        x = self.activation_block(x)
        return self.block2(x) + x


class UNet3D(nn.Module):
    def __init__(self, in_channels=1, classes=3, features=16, depth=4, kernel=(3, 3, 3), downsampling=(2, 2, 2),
                 downsampling_dilation=(1, 1, 1)):
        super().__init__()
        layers = [EncodeBlock(in_channels, features, 1, kernel)]
        up_kernel = tuple(2 * f if f > 1 else 1 for f in downsampling)
        ch = features
        for _ in range(depth):
            layers.append(EncodeBlock(ch, ch * 2, downsampling, kernel, downsampling_dilation))
            ch *= 2
        for _ in range(depth):
            layers.append(DecodeBlock(ch, ch // 2, up_kernel, downsampling, same_padding(up_kernel)))
            layers.append(SynthesisBlock(ch // 2, kernel))
            ch //= 2
        self._layers = nn.ModuleList(layers)
        self.depth = depth
        self.output_layer = nn.Conv3d(features, classes, 1, bias=True)

    def forward(self, x):
        skips = []
        for i in range(self.depth + 1):
            x = self._layers[i](x)
            skips.append(x)
        for j in range(self.depth):
            up = self._layers[self.depth + 1 + 2 * j](x)
            x = self._layers[self.depth + 2 + 2 * j](up, skips[self.depth - 1 - j])
        return self.output_layer(x)


class UNet2D(UNet3D):
    def __init__(self, in_channels=1, classes=3, features=16, depth=4, downsampling_dilation=2):
        super().__init__(in_channels, classes, features, depth, kernel=(1, 3, 3), downsampling=(1, 2, 2),
                         downsampling_dilation=(1, downsampling_dilation, downsampling_dilation))
