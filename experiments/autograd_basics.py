"""Autograd: a gradient worked out by hand beside the one backward() computes.

Run it on its own with `python experiments/autograd_basics.py`, or from the note with studylog.
"""

import torch

device = "cuda" if torch.cuda.is_available() else "cpu"

# z = 2 * w**2 + 5  =>  dz/dw = 4w
w = torch.tensor(2.0, requires_grad=True, device=device)
z = 2 * w**2 + 5
z.backward()
print(f"dz/dw by hand: {4 * w.item():.1f}   by autograd: {w.grad.item():.1f}")

# Q = 3a^3 - b^2  =>  dQ/da = 9a^2, dQ/db = -2b  (the PyTorch tutorial's example)
a = torch.tensor([2.0, 3.0], requires_grad=True, device=device)
b = torch.tensor([6.0, 4.0], requires_grad=True, device=device)
Q = 3 * a**3 - b**2
Q.backward(gradient=torch.ones_like(Q))  # Q is a vector: say how to weigh each element
print("dQ/da by hand:", (9 * a**2).tolist(), "  by autograd:", a.grad.tolist())
print("dQ/db by hand:", (-2 * b).tolist(), "  by autograd:", b.grad.tolist())
assert torch.allclose(a.grad, 9 * a**2) and torch.allclose(b.grad, -2 * b)
