"""Optimizers: the same small regression trained with SGD, SGD with momentum and Adam.

Run it on its own with `python experiments/optimizers.py`, or from the note with studylog.
"""

import torch
from torch import nn

device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
x = torch.linspace(-1, 1, 200, device=device).unsqueeze(1)
y = 2 * x**3 - x + 0.05 * torch.randn_like(x)


def train(make_optimizer, steps=150):
    torch.manual_seed(0)  # the same initial weights for every optimizer
    model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 1)).to(device)
    optimizer = make_optimizer(model.parameters())
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        optimizer.zero_grad()  # gradients accumulate unless cleared
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


for name, make in [
    ("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    ("momentum", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    ("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
]:
    print(f"{name:>8}: final loss {train(make):.4f}")
