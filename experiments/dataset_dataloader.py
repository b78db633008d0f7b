"""Dataset and DataLoader: a custom Dataset, an ImageNet-style normalising transform, and a
DataLoader with batching, shuffling, drop_last, a padding collate_fn and worker processes.

Run it on its own with `python experiments/dataset_dataloader.py`, or from the note with
studylog (which also records the training loss it logs with `track`).
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

try:
    from studylog import track
except ImportError:  # plain python without studylog installed: logging does nothing

    class track:
        log = param = staticmethod(lambda *args, **kwargs: None)


# The mean and std of ImageNet's pixels, per RGB channel: what pretrained models expect.
IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def normalize(image):
    """(C, H, W) pixels in [0, 1] → zero mean, unit variance per channel (as a tensor op)."""
    return (image - IMAGENET_MEAN) / IMAGENET_STD


class TinyImages(Dataset):
    """Random 3×8×8 'images', labelled 1 when the red channel is brighter than the blue."""

    def __init__(self, size=512, transform=None):  # make (or load) the data once
        generator = torch.Generator().manual_seed(0)
        self.images = torch.rand(size, 3, 8, 8, generator=generator)
        self.labels = (self.images[:, 0].mean((1, 2)) > self.images[:, 2].mean((1, 2))).long()
        self.transform = transform

    def __len__(self):  # how many samples: DataLoader uses it to plan the batches
        return len(self.images)

    def __getitem__(self, index):  # one sample, transformed
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, self.labels[index]


class CountingSequences(Dataset):
    """Sequences 1..n of different lengths: they cannot be stacked without padding."""

    def __init__(self, size=10):
        generator = torch.Generator().manual_seed(0)
        self.lengths = torch.randint(1, 6, (size,), generator=generator).tolist()

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, index):
        n = self.lengths[index]
        return torch.arange(1, n + 1), n % 2 == 0


def pad_collate(batch):
    """Pad every sequence of the batch to the longest one with zeros, and keep the lengths."""
    sequences, labels = zip(*batch, strict=True)
    padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    lengths = torch.tensor([len(s) for s in sequences])
    return padded, lengths, torch.tensor(labels)


def main():
    device = "cuda" if torch.cuda.is_available() else "cpu"

    print("1. A transform: ImageNet normalisation")
    images = TinyImages(transform=normalize)
    image, label = images[0]
    print(
        f"   sample 0: shape {tuple(image.shape)}, label {label.item()}, "
        f"red mean after normalising {image[0].mean().item():+.2f}"
    )

    print("2. A collate_fn that pads sequences of different lengths")
    sequences = DataLoader(
        CountingSequences(), batch_size=4, shuffle=False, drop_last=True, collate_fn=pad_collate
    )
    for padded, lengths, labels in sequences:
        print(f"   {padded.tolist()} lengths {lengths.tolist()} even {labels.tolist()}")
    print(
        f"   {len(sequences)} batches; drop_last left out "
        f"{len(CountingSequences()) % 4} samples that would make a short batch"
    )

    print("3. Training from a DataLoader with 2 worker processes")
    loader = DataLoader(
        images,
        batch_size=64,
        shuffle=True,
        drop_last=True,
        num_workers=2,
        generator=torch.Generator().manual_seed(0),
    )
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    track.param(batch_size=64, num_workers=2, lr=0.1, epochs=5)
    step = 0
    for epoch in range(5):
        correct = 0
        for batch, labels in loader:  # each batch is built by a worker process
            batch, labels = batch.to(device), labels.to(device)
            optimizer.zero_grad()
            logits = model(batch)
            loss = nn.functional.cross_entropy(logits, labels)
            loss.backward()
            optimizer.step()
            correct += (logits.argmax(1) == labels).sum().item()
            track.log(step=step, loss=loss.item())
            step += 1
        accuracy = correct / (len(loader) * loader.batch_size)
        track.log(step=epoch, accuracy=accuracy)
        print(f"   epoch {epoch}: loss {loss.item():.3f}, accuracy {accuracy:.2f}")


if __name__ == "__main__":  # needed: worker processes may import this file
    main()
