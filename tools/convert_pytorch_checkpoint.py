#!/usr/bin/python3
"""Converts a PyTorch / InnerEye-DeepLearning checkpoint into the safetensors
file InnerEye-C loads (model.init_checkpoint), keeping PyTorch's tensor names.

    /usr/bin/python3 tools/convert_pytorch_checkpoint.py INPUT OUTPUT [--model M] [--prefix P] [--trust-pickle]

INPUT is one of
  - a state_dict saved with torch.save (name -> tensor),
  - InnerEye's checkpoint {"epoch", "state_dict", "opt_dict"},
  - a PyTorch Lightning .ckpt whose "state_dict" names carry the LightningModule's
    attribute ("model." for InnerEye's segmentation models); the prefix is
    found and removed (or give it with --prefix; "module." of DataParallel too).
The tensors must form one of InnerEye's segmentation layouts (--model auto,
the default, finds which): UNet3D, UNet2D or Basic, with every tensor of that
layout present with its shape and nothing else; the parameters found
(features, depth, channels, classes) are printed as the config settings to
use.  --model any converts whatever tensors there are, names unchanged
(removing only a --prefix), for plugins with their own names.  Anything else is refused with a message saying what was
found and what was expected; nothing is written then.

Floating-point tensors become float32 (float16/bfloat16/float64 are
converted), num_batches_tracked stays int64.  OUTPUT is written to a
temporary file and renamed, so it is never left half-written.

Needs PyTorch (Debian: apt-get install python3-torch, run with
/usr/bin/python3).  Files are unpickled with only tensors, numbers, strings
and plain containers allowed; a checkpoint that also pickles other Python
objects (loading those runs code from the file) needs --trust-pickle."""
import argparse
import hashlib
import json
import os
import re
import struct
import sys
import tempfile

LAYOUTS = ("auto", "UNet3D", "UNet2D", "Basic", "any")
STRIPPABLE = ("model.", "module.")


class Refusal(Exception):
    """A problem with the input, reported as one clear message."""


# ---- InnerEye's layouts: every tensor name with its shape ----

def _conv(shapes, name, cout, cin, kernel, bias):
    shapes[name + ".weight"] = (cout, cin, *kernel)
    if bias:
        shapes[name + ".bias"] = (cout,)


def _bn(shapes, name, channels):
    for suffix in ("weight", "bias", "running_mean", "running_var"):
        shapes["%s.%s" % (name, suffix)] = (channels,)
    shapes[name + ".num_batches_tracked"] = ()


def unet_layout(in_channels, classes, features, depth, flat):
    """InnerEye's UNet3D (flat: UNet2D, kernels 1x3x3, upsampling 1x4x4)."""
    k, up = ((1, 3, 3), (1, 4, 4)) if flat else ((3, 3, 3), (4, 4, 4))
    s, cin = {}, in_channels
    for i in range(depth + 1):
        c = features << i
        _conv(s, "_layers.%d.block1.conv1" % i, c, cin, k, False)
        _bn(s, "_layers.%d.block1.bn1" % i, c)
        _conv(s, "_layers.%d.block2.conv1" % i, c, c, k, False)
        _bn(s, "_layers.%d.block2.bn1" % i, c)
        cin = c
    c = features << depth
    for j in range(depth):
        up_idx, syn = depth + 1 + 2 * j, depth + 2 + 2 * j
        s["_layers.%d.upsample_block.0.weight" % up_idx] = (c, c // 2, *up)  # transposed: [Cin, Cout, k]
        s["_layers.%d.upsample_block.0.bias" % up_idx] = (c // 2,)
        _bn(s, "_layers.%d.upsample_block.1" % up_idx, c // 2)
        c //= 2
        _conv(s, "_layers.%d.conv1.conv1" % syn, c, c, k, False)
        _conv(s, "_layers.%d.conv2.conv1" % syn, c, c, k, False)
        _bn(s, "_layers.%d.activation_block.0" % syn, c)
        _conv(s, "_layers.%d.block2.conv1" % syn, c, c, k, False)
        _bn(s, "_layers.%d.block2.bn1" % syn, c)
    _conv(s, "output_layer", classes, features, (1, 1, 1), True)
    return s


def basic_layout(in_channels, classes, features):
    """InnerEye's Basic (ComplexModel): 2 layers, 3 residual blocks, 1x1x1 conv."""
    ch = [in_channels, *features, classes]
    s = {}

    def layer(name, cin, cout, kernel):
        _conv(s, name + ".conv1", cout, cin, (kernel,) * 3, True)
        _bn(s, name + ".bn1", cout)

    layer("_layers.0", ch[0], ch[1], 3)
    layer("_layers.1", ch[1], ch[2], 3)
    for b in range(3):
        c0, c1, c2 = ch[2 + 2 * b: 5 + 2 * b]
        layer("_layers.%d.layers.0" % (2 + b), c0, c1, 3)
        layer("_layers.%d.layers.1" % (2 + b), c1, c2, 3)
        if c0 != c2:
            layer("_layers.%d.conv" % (2 + b), c0, c2, 1)
    _conv(s, "_layers.5", ch[9], ch[8], (1, 1, 1), True)
    return s


def _shape(sd, name):
    if name not in sd:
        raise KeyError(name)
    return tuple(sd[name].shape)


def detect_unet(sd):
    """(model name, params, expected shapes) for a UNet3D/UNet2D state_dict."""
    w0 = _shape(sd, "_layers.0.block1.conv1.weight")
    if len(w0) != 5 or w0[2:] not in ((3, 3, 3), (1, 3, 3)):
        raise KeyError("_layers.0.block1.conv1.weight (shape %s)" % (w0,))
    flat = w0[2:] == (1, 3, 3)
    encoders = {int(m.group(1)) for m in (re.match(r"_layers\.(\d+)\.block1\.conv1\.weight$", n) for n in sd) if m}
    depth = len(encoders) - 1
    params = {"features": w0[0], "depth": depth, "in_channels": w0[1],
              "classes": _shape(sd, "output_layer.weight")[0]}
    return ("UNet2D" if flat else "UNet3D"), params, unet_layout(
        params["in_channels"], params["classes"], params["features"], depth, flat)


def detect_basic(sd):
    features = [_shape(sd, "_layers.0.conv1.weight")[0], _shape(sd, "_layers.1.conv1.weight")[0]]
    for b in range(3):
        features += [_shape(sd, "_layers.%d.layers.%d.conv1.weight" % (2 + b, layer))[0] for layer in (0, 1)]
    params = {"feature_channels": features, "in_channels": _shape(sd, "_layers.0.conv1.weight")[1],
              "classes": _shape(sd, "_layers.5.weight")[0]}
    return "Basic", params, basic_layout(params["in_channels"], params["classes"], features)


def compare_layout(sd, expected, model):
    """Refuses unless sd has exactly the expected names and shapes."""
    missing = [n for n in expected if n not in sd]
    extra = [n for n in sd if n not in expected]
    wrong = ["%s is %s, expected %s" % (n, list(sd[n].shape), list(expected[n]))
             for n in expected if n in sd and tuple(sd[n].shape) != expected[n]]
    if not (missing or extra or wrong):
        return None
    parts = []
    for what, items in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)):
        if items:
            parts.append("%s: %s%s" % (what, ", ".join(items[:5]), " (and %d more)" % (len(items) - 5)
                                        if len(items) > 5 else ""))
    return "not InnerEye's %s layout (%s)" % (model, "; ".join(parts))


def find_layout(sd, wanted):
    """(model, params) of the InnerEye layout the tensors form, or a Refusal
    saying why each candidate does not fit."""
    if wanted == "auto":
        candidates = [("UNet3D/UNet2D", detect_unet), ("Basic", detect_basic)]
    else:
        candidates = [(wanted, detect_basic if wanted == "Basic" else detect_unet)]
    reasons = []
    for label, detect in candidates:
        try:
            model, params, expected = detect(sd)
        except KeyError as e:
            reasons.append("not InnerEye's %s layout (no tensor %s)" % (label, str(e).strip("'\"")))
            continue
        if wanted in ("UNet3D", "UNet2D") and model != wanted:
            reasons.append("the kernels are %s's, not %s's" % (model, wanted))
            continue
        problem = compare_layout(sd, expected, model)
        if problem is None:
            return model, params
        reasons.append(problem)
    sample = ", ".join(list(sd)[:4])
    raise Refusal("the tensors (%d, e.g. %s) form no known layout: %s. Give --model any to convert them "
                  "as they are (for a plugin with its own names)" % (len(sd), sample, "; ".join(reasons)))


# ---- reading the checkpoint ----

# What a checkpoint of tensors, numbers, strings and containers may ask the
# unpickler for; anything else (a class of the training code, of Lightning,
# ...) would run code from the file.
SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "slice"),
    ("torch._utils", "_rebuild_tensor"), ("torch._utils", "_rebuild_tensor_v2"),
    ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
    ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "Size"), ("torch", "Tensor"),
    ("torch.nn.parameter", "Parameter"), ("torch.storage", "_load_from_bytes"),
}


def safe_pickle_module():
    """A stand-in for the pickle module whose unpickler refuses every global
    but SAFE_GLOBALS and torch's dtypes (torch maps storage classes itself)."""
    import io
    import pickle
    import types

    class SafeUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in SAFE_GLOBALS or (module == "torch" and name.endswith(("Storage", "float32",
                                                                                     "float16", "bfloat16",
                                                                                     "float64", "int64", "int32",
                                                                                     "uint8", "bool"))):
                return super().find_class(module, name)
            raise pickle.UnpicklingError("it pickles %s.%s" % (module, name))

    safe = types.ModuleType("pickle")
    safe.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith("__")})
    safe.Unpickler = SafeUnpickler
    safe.load = lambda f, **kw: SafeUnpickler(f, **kw).load()
    safe.loads = lambda data, **kw: SafeUnpickler(io.BytesIO(data), **kw).load()
    return safe


def load_checkpoint(torch, path, trust_pickle):
    import pickle
    import torch.serialization as serialization
    if not os.path.isfile(path):
        raise Refusal("no such file")
    # torch.load's pickle_module argument is ignored by some releases (Debian's
    # 1.13 among them) and its weights_only mode cannot read the floats of an
    # optimiser's state; torch.load reads the module's `pickle`, so that is
    # what is replaced while the file is read.
    saved = serialization.pickle
    if not trust_pickle:
        serialization.pickle = safe_pickle_module()
    try:
        return torch.load(path, map_location="cpu")
    except pickle.UnpicklingError as e:
        if not trust_pickle and str(e).startswith("it pickles "):
            raise Refusal("the checkpoint holds Python objects besides tensors (%s); loading it runs code from "
                          "the file. If you trust the file, rerun with --trust-pickle" % e)
        raise Refusal("torch.load cannot read it: %s" % (str(e) or type(e).__name__))
    except Exception as e:  # torch raises several types for a file that is no checkpoint
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise Refusal("torch.load cannot read it: %s" % text)
    finally:
        serialization.pickle = saved


def find_state_dict(torch, obj):
    """The name -> tensor mapping inside a loaded checkpoint, and what held it."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict(), "a pickled module"
    if not isinstance(obj, dict):
        raise Refusal("it holds a %s, not a state_dict or a checkpoint dictionary" % type(obj).__name__)
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        return obj["state_dict"], "its \"state_dict\" entry"
    if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, "a state_dict"
    keys = ", ".join(repr(k) for k in list(obj)[:8])
    raise Refusal("no state_dict found: the top-level keys are %s; expected tensors by name, or a "
                  "\"state_dict\" entry (InnerEye and PyTorch Lightning checkpoints)" % keys)


def strip_prefix(sd, prefix):
    """Removes the given prefix, or (None) the LightningModule / DataParallel
    prefixes: keys under "model." are kept (other entries of a Lightning
    module, such as a loss's buffers, are dropped and reported), then a
    "module." shared by every key is removed."""
    notes = []
    if prefix is not None:
        outside = [k for k in sd if not k.startswith(prefix)]
        if outside:
            raise Refusal("--prefix %s: %d names do not start with it, e.g. %s" % (prefix, len(outside), outside[0]))
        return {k[len(prefix):]: v for k, v in sd.items()}, notes
    for p in STRIPPABLE:
        inside = {k[len(p):]: v for k, v in sd.items() if k.startswith(p)}
        if not inside:
            continue
        dropped = [k for k in sd if not k.startswith(p)]
        if dropped and p == "module.":
            continue  # DataParallel prefixes every name
        if dropped:
            notes.append("dropped %d tensors outside \"%s\": %s" % (len(dropped), p, ", ".join(dropped[:5])))
        notes.append("removed the prefix \"%s\"" % p)
        sd = inside
    return sd, notes


def to_storable(torch, sd):
    out, notes = {}, []
    converted = []
    for name, t in sd.items():
        if not isinstance(t, torch.Tensor):
            raise Refusal("entry %s is a %s, not a tensor" % (name, type(t).__name__))
        t = t.detach().cpu().contiguous()
        if name.endswith("num_batches_tracked") and t.dtype != torch.int64:  # BatchNorm's counter is int64
            converted.append("%s (%s)" % (name, str(t.dtype).replace("torch.", "")))
            t = t.to(torch.int64)
        elif t.is_floating_point() and t.dtype != torch.float32:
            converted.append("%s (%s)" % (name, str(t.dtype).replace("torch.", "")))
            t = t.float()
        elif t.dtype not in (torch.float32, torch.int64, torch.int32, torch.uint8):
            raise Refusal("tensor %s has dtype %s; only floating-point and int64/int32/uint8 tensors can be "
                          "stored" % (name, str(t.dtype).replace("torch.", "")))
        out[name] = t
    if converted:
        notes.append("converted %d tensors to float32 (num_batches_tracked to int64), e.g. %s"
                     % (len(converted), converted[0]))
    return out, notes


# ---- writing ----

_CODES = {"torch.float32": "F32", "torch.int64": "I64", "torch.int32": "I32", "torch.uint8": "U8"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        data = t.numpy().tobytes()
        header[name] = {"dtype": _CODES[str(t.dtype)], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".convert-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(raw)))
            f.write(raw)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)  # mkstemp makes the file private; give it the usual mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def usage_settings(model, params, output):
    """The arguments of `innereye train` that start a run from the converted
    weights: --model picks the model and its built-in config."""
    sets = ["model.params.%s=%s" % (k, json.dumps(v, separators=(",", ":"))) for k, v in params.items()]
    sets.append("model.init_checkpoint=%s" % output)
    return "--model %s " % model + " ".join("--set " + s for s in sets)


def infer_settings(model, params, output):
    """The arguments of `innereye infer` that segment with the weights as they are."""
    sets = ["model.params.%s=%s" % (k, json.dumps(v, separators=(",", ":"))) for k, v in params.items()]
    return "--checkpoint %s --model %s " % (output, model) + " ".join("--set " + s for s in sets)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="innereye convert", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="PyTorch checkpoint (.pt, .pth, .ckpt)")
    ap.add_argument("output", help="safetensors file to write")
    ap.add_argument("--model", choices=LAYOUTS, default="auto",
                    help="layout the tensors must form (default: auto, any of InnerEye's)")
    ap.add_argument("--prefix", help="prefix to remove from every name (default: find \"model.\"/\"module.\")")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="load checkpoints that pickle other Python objects (runs code from the file)")
    args = ap.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("convert_pytorch_checkpoint: this tool needs PyTorch; run it with a Python that has torch "
              "(Debian: apt-get install python3-torch; innereye convert runs $INNEREYE_PYTHON, else python3)",
              file=sys.stderr)
        return 2
    try:
        obj = load_checkpoint(torch, args.input, args.trust_pickle)
        sd, holder = find_state_dict(torch, obj)
        # A plugin's own names are kept as they are unless --prefix says otherwise.
        notes = []
        if args.model != "any" or args.prefix is not None:
            sd, notes = strip_prefix(dict(sd), args.prefix)
        if not sd:
            raise Refusal("%s is empty" % holder)
        tensors, more = to_storable(torch, sd)
        notes += more
        if args.model == "any":
            model, params = None, {}
        else:
            model, params = find_layout(tensors, args.model)
    except Refusal as e:
        print("convert_pytorch_checkpoint: %s: %s; nothing was written" % (args.input, e), file=sys.stderr)
        return 2
    metadata = {"format": "pt", "converted_by": "InnerEye-C tools/convert_pytorch_checkpoint.py",
                "source": os.path.basename(args.input), "source_sha256": sha256_of(args.input)}
    if model:
        metadata["model"] = model
        metadata["model.params"] = json.dumps(params, separators=(",", ":"))
    try:
        write_safetensors(args.output, tensors, metadata)
    except OSError as e:
        print("convert_pytorch_checkpoint: %s: cannot write: %s" % (args.output, e.strerror), file=sys.stderr)
        return 1
    for n in notes:
        print("note: " + n)
    if model:
        desc = ", ".join("%s %s" % (k, v) for k, v in params.items())
        print("wrote %s: %d tensors in InnerEye's %s layout (%s)" % (args.output, len(tensors), model, desc))
        print("train from it: innereye train %s" % usage_settings(model, params, args.output))
        print("segment with it: innereye infer %s --image IMAGE --out DIR" % infer_settings(model, params, args.output))
    else:
        print("wrote %s: %d tensors, names as in the checkpoint" % (args.output, len(tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
