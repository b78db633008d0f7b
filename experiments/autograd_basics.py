"""Autograd, step by step: gradients by hand beside backward(), a custom autograd.Function
checked with gradcheck, tensor and module hooks, Module.apply for initialisation, and gather.

Run it on its own with `python experiments/autograd_basics.py`, or from the note with studylog
(which also records the loss it logs with `track`).
"""

import torch
from torch import nn

try:
    from studylog import track
except ImportError:  # plain python without studylog installed: logging does nothing

    class track:
        log = param = staticmethod(lambda *args, **kwargs: None)


device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)

print("1. A gradient by hand and by autograd")
# z = 2 * w**2 + 5  =>  dz/dw = 4w
w = torch.tensor(2.0, requires_grad=True, device=device)
z = 2 * w**2 + 5
z.backward()
print(f"   dz/dw by hand: {4 * w.item():.1f}   by autograd: {w.grad.item():.1f}")

# Q = 3a^3 - b^2  =>  dQ/da = 9a^2, dQ/db = -2b  (the PyTorch tutorial's example)
a = torch.tensor([2.0, 3.0], requires_grad=True, device=device)
b = torch.tensor([6.0, 4.0], requires_grad=True, device=device)
Q = 3 * a**3 - b**2
Q.backward(gradient=torch.ones_like(Q))  # Q is a vector: say how to weigh each element
print("   dQ/da by hand:", (9 * a**2).tolist(), "  by autograd:", a.grad.tolist())
print("   dQ/db by hand:", (-2 * b).tolist(), "  by autograd:", b.grad.tolist())
assert torch.allclose(a.grad, 9 * a**2) and torch.allclose(b.grad, -2 * b)


print("2. A custom autograd.Function with its own backward")


class Exp(torch.autograd.Function):
    """y = e^x, whose derivative is e^x again: forward saves the output for backward."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y  # chain rule: upstream gradient times local derivative


x = torch.randn(4, dtype=torch.float64, requires_grad=True, device=device)
# gradcheck compares our backward with finite differences (double precision needed).
print("   gradcheck:", torch.autograd.gradcheck(Exp.apply, (x,)))


print("3. Hooks: seeing gradients and activations as they pass")
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
v.register_hook(lambda grad: print("   gradient reaching v:", grad.tolist()))
(v * v).sum().backward()

model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).to(device)
seen = {}
model[0].register_forward_hook(lambda mod, inp, out: seen.update(forward=tuple(out.shape)))
model[0].register_full_backward_hook(
    lambda mod, grad_in, grad_out: seen.update(backward=tuple(grad_out[0].shape))
)
model(torch.randn(2, 3, device=device, requires_grad=True)).sum().backward()
print(f"   first layer output {seen['forward']}, gradient of its output {seen['backward']}")


print("4. Module.apply: one initialisation for every Linear layer")


def init_weights(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


model.apply(init_weights)  # visits every submodule, then the model itself
linears = [m for m in model if isinstance(m, nn.Linear)]
print("   biases after apply:", [m.bias.abs().sum().item() for m in linears])


print("5. torch.gather: picking each row's score of its true class")
scores = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]], device=device)
labels = torch.tensor([1, 0], device=device)
picked = scores.gather(dim=1, index=labels.unsqueeze(1)).squeeze(1)
print("   gather(scores, labels):", [round(p, 2) for p in picked.tolist()])  # [0.7, 0.5]


print("6. Gradient descent by hand: fit y = 3x + 2 with backward() and no optimizer")
xs = torch.linspace(-1, 1, 64, device=device).unsqueeze(1)
ys = 3 * xs + 2 + 0.1 * torch.randn_like(xs)
weight = torch.zeros(1, requires_grad=True, device=device)
bias = torch.zeros(1, requires_grad=True, device=device)
track.param(lr=0.1, steps=100)
for step in range(100):
    loss = ((xs * weight + bias - ys) ** 2).mean()
    loss.backward()
    with torch.no_grad():  # the update itself must not be recorded by autograd
        weight -= 0.1 * weight.grad
        bias -= 0.1 * bias.grad
    weight.grad.zero_()
    bias.grad.zero_()
    track.log(step=step, loss=loss.item())
print(f"   weight {weight.item():.2f}, bias {bias.item():.2f}, final loss {loss.item():.4f}")
