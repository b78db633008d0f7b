"""Dataset and DataLoader: a custom Dataset and a collate_fn that pads sequences.

Run it on its own with `python experiments/dataset_dataloader.py`, or from the note with studylog.
"""

import torch
from torch.utils.data import DataLoader, Dataset


class CountingSequences(Dataset):
    """Sequences 1..n of different lengths, labelled by whether their length is even."""

    def __init__(self, size=10):
        generator = torch.Generator().manual_seed(0)
        self.lengths = torch.randint(1, 6, (size,), generator=generator).tolist()

    def __len__(self):
        return len(self.lengths)

    def __getitem__(self, index):
        n = self.lengths[index]
        return torch.arange(1, n + 1), n % 2 == 0


def pad_collate(batch):
    """Pad every sequence of the batch to the longest one with zeros."""
    sequences, labels = zip(*batch)
    padded = torch.nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    return padded, torch.tensor(labels)


if __name__ == "__main__":
    loader = DataLoader(CountingSequences(), batch_size=4, shuffle=False, drop_last=True,
                        collate_fn=pad_collate)
    for batch, labels in loader:
        print(batch.tolist(), labels.tolist())
    print(f"{len(loader)} batches (drop_last dropped {len(CountingSequences()) % 4} samples)")
