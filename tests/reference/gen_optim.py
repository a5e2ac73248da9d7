"""Golden values for optimisers and learning-rate schedules
(tests/unit/test_optim.c, tests/unit/test_schedule.c).

optim.safetensors: a few parameters with fixed gradients over five steps for
each optimiser configuration of CONFIGS, run through torch.optim with
foreach=False (the single-tensor code path).  Keys:
    init.<p>                 parameter values before step 1
    grad.<s>.<p>             gradient of step s (absent: the grad is None)
    <cfg>.<s>.<p>            parameter after step s
    <cfg>.state.<p>.<name>   torch's optimiser state after the last step
CONFIGS is mirrored by the table in test_optim.c: keep the two in step.

schedule.safetensors: learning rate per epoch for each schedule of SCHEDULES,
produced by torch.optim.lr_scheduler the way InnerEye-DeepLearning's
SchedulerWithWarmUp drives it.  Values are float64 stored bit for bit in I64
tensors (the fixture writer has no F64)."""
import math

import torch

STEPS = 5
# name -> shape; grads below say which steps each parameter gets a gradient.
PARAMS = {"w": (5, 7), "b": (3,), "k": (2, 2, 3, 3), "late": (10,), "frozen": (4,)}
# Gradient magnitude per step: the drop after step 2 makes AMSGrad's running
# maximum differ from the second moment.
GRAD_SCALE = [1.0, 2.0, 0.1, 0.05, 1.0]
# "late" has no gradient in steps 1-2 (its per-parameter step count lags);
# "frozen" never has one (must stay untouched, with no state).
NO_GRAD = {"late": {1, 2}, "frozen": {1, 2, 3, 4, 5}}

CONST = [0.05] * STEPS
POLY = "poly"  # learning rates from torch.optim.lr_scheduler.LambdaLR with nnU-Net's poly lambda
CONFIGS = [
    ("sgd_plain", "sgd", CONST, dict()),
    ("sgd_nesterov", "sgd", CONST, dict(momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("sgd_dampening", "sgd", [0.1, 0.1, 0.05, 0.05, 0.02],
     dict(momentum=0.8, dampening=0.3, weight_decay=1e-3)),
    ("adam", "adam", [1e-2] * STEPS, dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-3)),
    ("adamw", "adamw", [1e-2, 1e-2, 5e-3, 5e-3, 2e-3], dict(betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)),
    ("adam_amsgrad", "adam", [1e-2] * STEPS, dict(betas=(0.8, 0.9), eps=1e-6, amsgrad=True)),
    ("adamw_amsgrad", "adamw", [1e-2] * STEPS, dict(betas=(0.8, 0.9), eps=1e-6, weight_decay=0.05, amsgrad=True)),
    ("rmsprop", "rmsprop", [1e-2] * STEPS, dict()),
    ("rmsprop_centered", "rmsprop", [1e-2] * STEPS,
     dict(alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=1e-3)),
    # nnU-Net's recipe (nnUNetTrainer.configure_optimizers): SGD lr 1e-2, momentum 0.99, Nesterov, weight decay
    # 3e-5, and PolyLRScheduler lr = 1e-2 (1 - epoch / epochs)^0.9, here a LambdaLR stepped once per epoch of one
    # step over STEPS epochs.  Its learning rates are saved as <cfg>.lrs (float64 bits).
    ("sgd_nesterov_poly", "sgd", POLY, dict(momentum=0.99, nesterov=True, weight_decay=3e-5)),
]

_OPTIMS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
           "rmsprop": torch.optim.RMSprop}


def _optim_fixture():
    g = torch.Generator().manual_seed(20)
    init = {n: torch.randn(*s, generator=g) for n, s in PARAMS.items()}
    grads = {}
    for s in range(1, STEPS + 1):
        for n, shape in PARAMS.items():
            grads[(s, n)] = torch.randn(*shape, generator=g) * GRAD_SCALE[s - 1]
    out = {"init." + n: t for n, t in init.items()}
    for (s, n), t in grads.items():
        if s not in NO_GRAD.get(n, ()):
            out["grad.%d.%s" % (s, n)] = t
    for name, kind, lrs, kw in CONFIGS:
        params = {n: t.clone().requires_grad_(True) for n, t in init.items()}
        opt = _OPTIMS[kind](list(params.values()), lr=1e-2 if lrs == POLY else lrs[0], foreach=False, **kw)
        poly = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: (1 - e / STEPS) ** 0.9) if lrs == POLY else None
        used = []
        for s in range(1, STEPS + 1):
            for group in opt.param_groups:
                if poly is None:
                    group["lr"] = lrs[s - 1]
                used.append(group["lr"])
            for n, p in params.items():
                p.grad = None if s in NO_GRAD.get(n, ()) else grads[(s, n)].clone()
            opt.step()
            if poly is not None:
                poly.step()
            for n, p in params.items():
                out["%s.%d.%s" % (name, s, n)] = p.detach().clone()
        for n, p in params.items():
            for key, value in opt.state.get(p, {}).items():
                if value is None:
                    continue
                if key == "step":
                    value = torch.tensor(int(float(value)), dtype=torch.int64)
                out["%s.state.%s.%s" % (name, n, key)] = value
        if poly is not None:
            out["%s.lrs" % name] = _bits(used)
    return out


# InnerEye-DeepLearning (InnerEye/ML/utils/lr_scheduler.py, SchedulerWithWarmUp):
# epochs < W run a linear warm-up lr * (e + 1) / (W + 1); afterwards the chosen
# torch scheduler runs over T = max_epochs - W epochs, starting from its epoch 0.
EPOCHS = 24
SCHEDULES = [
    # name, kind, base_lr, final_lr, max_epochs, gamma, step_size, milestones, warmup
    ("constant", "constant", 1e-3, 0.0, EPOCHS, 0.0, 0, [], 0),
    ("polynomial", "polynomial", 1e-3, 1e-5, EPOCHS, 0.9, 0, [], 0),
    ("polynomial_warmup", "polynomial", 2e-3, 1e-4, EPOCHS, 2.0, 0, [], 3),
    ("cosine", "cosine", 1e-3, 1e-6, EPOCHS, 0.0, 0, [], 0),
    ("cosine_warmup", "cosine", 1e-2, 0.0, EPOCHS, 0.0, 0, [], 5),
    ("step", "step", 1e-3, 0.0, EPOCHS, 0.5, 4, [], 0),
    ("step_warmup", "step", 1e-3, 0.0, EPOCHS, 0.1, 7, [], 2),
    ("multistep", "multistep", 1e-3, 0.0, EPOCHS, 0.3, 0, [3, 8, 9, 20], 0),
    ("multistep_warmup", "multistep", 1e-3, 0.0, EPOCHS, 0.5, 0, [5, 10], 4),
    ("exponential", "exponential", 1e-3, 0.0, EPOCHS, 0.9, 0, [], 0),
    ("exponential_warmup", "exponential", 3e-3, 0.0, EPOCHS, 0.95, 0, [], 1),
]


class _Warmup(torch.optim.lr_scheduler._LRScheduler):
    """InnerEye's LinearWarmUp."""

    def __init__(self, optimizer, warmup_epochs, final_lr):
        self.warmup_epochs, self.final_lr = warmup_epochs, final_lr
        super().__init__(optimizer)

    def get_lr(self):
        if self.warmup_epochs <= 0 or self.last_epoch >= self.warmup_epochs:
            return [self.final_lr]
        return [self.final_lr * (self.last_epoch + 1) / (self.warmup_epochs + 1)]


def _schedule_lrs(kind, base, final, max_epochs, gamma, step_size, milestones, warmup):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler
    after = max_epochs - warmup
    if kind == "constant":
        inner = sched.LambdaLR(opt, lambda e: 1.0)
    elif kind == "polynomial":
        x = final / base
        inner = sched.LambdaLR(opt, lambda e: (1 - x) * ((1. - float(e) / after) ** gamma) + x)
    elif kind == "cosine":
        inner = sched.CosineAnnealingLR(opt, T_max=after, eta_min=final)
    elif kind == "step":
        inner = sched.StepLR(opt, step_size=step_size, gamma=gamma)
    elif kind == "multistep":
        inner = sched.MultiStepLR(opt, milestones=milestones, gamma=gamma)
    elif kind == "exponential":
        inner = sched.ExponentialLR(opt, gamma=gamma)
    warm = _Warmup(opt, warmup, base)
    lrs = []
    for epoch in range(max_epochs):
        lrs.append(opt.param_groups[0]["lr"])
        if epoch < warmup:
            warm.step()
        else:
            inner.step()
    return lrs


def _bits(values):
    return torch.tensor(values, dtype=torch.float64).view(torch.int64)


def generate(save):
    save("optim.safetensors", _optim_fixture())
    sched = {}
    for name, *args in SCHEDULES:
        lrs = _schedule_lrs(*args)
        assert all(math.isfinite(v) for v in lrs)
        sched[name] = _bits(lrs)
    save("schedule.safetensors", sched)
