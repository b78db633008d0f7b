"""Optimizers: the same small regression trained with SGD, SGD with momentum and Adam.

Each optimizer runs the same loop (zero_grad → forward → loss → backward → step) from the
same initial weights, so their loss curves can be compared fairly.

    python experiments/optimizers.py                    # all three, one after the other
    python experiments/optimizers.py --optimizer adam   # one of them

From a note, studylog records each loss curve (`track.log`) and the settings (`track.param`);
`studylog runs show RUN` plots them, and the TUI overlays the runs of several optimizers.
"""

import argparse

import torch
from torch import nn

try:
    from studylog import track
except ImportError:  # plain python without studylog installed: logging does nothing

    class track:
        log = param = staticmethod(lambda *args, **kwargs: None)


OPTIMIZERS = {
    # name: (optimizer class, its settings)
    "sgd": (torch.optim.SGD, {"lr": 0.1}),
    "momentum": (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    "adam": (torch.optim.Adam, {"lr": 0.01}),
}

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
x = torch.linspace(-1, 1, 200, device=device).unsqueeze(1)
y = 2 * x**3 - x + 0.05 * torch.randn_like(x)


def train(name, steps=300, metric="loss"):
    torch.manual_seed(0)  # the same initial weights for every optimizer
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
    optimizer_class, settings = OPTIMIZERS[name]
    optimizer = optimizer_class(model.parameters(), **settings)
    loss_fn = nn.MSELoss()
    for step in range(steps):
        optimizer.zero_grad()  # gradients accumulate unless cleared
        loss = loss_fn(model(x), y)
        loss.backward()  # fills .grad of every parameter
        optimizer.step()  # moves the parameters against their gradients
        track.log(step=step, **{metric: loss.item()})
    return loss.item()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=[*OPTIMIZERS, "all"], default="all")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    names = list(OPTIMIZERS) if args.optimizer == "all" else [args.optimizer]
    for name in names:
        optimizer_class, settings = OPTIMIZERS[name]
        if len(names) == 1:
            track.param(optimizer=name, steps=args.steps, **settings)
        else:
            track.param(**{f"{name}_{key}": value for key, value in settings.items()})
        # One run, one curve per optimizer; a run of a single optimizer logs plain "loss".
        final = train(name, args.steps, metric="loss" if len(names) == 1 else f"loss_{name}")
        print(f"{name:>8} ({optimizer_class.__name__}, {settings}): final loss {final:.4f}")
