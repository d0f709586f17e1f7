"""What an administrator sets up before the local backend can run a job: each image's
environment (its ``prefix/bin``) and each dataset's directory. A missing one is refused
when a job is submitted (instead of a job that runs without its environment, or with a
dangling dataset link) and reported at start-up."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from ..catalog import Catalog, Dataset, Image
from ..errors import InvalidInput

# Where a dataset is on this server, from its name and its catalog `path`.
DatasetPath = Callable[[str, str], Path]


def missing_image_bin(image: Image) -> Path | None:
    """The image's ``bin`` directory if it does not exist; None for none needed or found."""
    if not image.prefix:
        return None
    bin_dir = Path(image.prefix) / "bin"
    return None if bin_dir.is_dir() else bin_dir


def missing_dataset_dir(dataset: Dataset, dataset_path: DatasetPath) -> Path | None:
    """The dataset's directory if it does not exist (a link to it would dangle)."""
    path = dataset_path(dataset.name, dataset.path)
    return None if os.path.exists(path) else path  # follows links: a linked dataset is fine


def catalog_warnings(catalog: Catalog, dataset_path: DatasetPath) -> Iterator[str]:
    """One line for the server's log per image environment or dataset that is missing."""
    for image in catalog.images:
        if (bin_dir := missing_image_bin(image)) is not None:
            yield f"The environment of image {image.name!r} is missing: {bin_dir} does not exist"
    for dataset in catalog.datasets:
        if (path := missing_dataset_dir(dataset, dataset_path)) is not None:
            yield f"The directory of dataset {dataset.name!r} is missing: {path} does not exist"


def check_job(image: Image, datasets: list[Dataset], dataset_path: DatasetPath) -> None:
    """Refuse a job whose image environment or one of whose group's datasets is missing."""
    if (bin_dir := missing_image_bin(image)) is not None:
        raise InvalidInput(
            f"The environment of image {image.name!r} is missing on this server ({bin_dir} "
            "does not exist); ask your administrator",
            field="image",
        )
    for dataset in datasets:
        if missing_dataset_dir(dataset, dataset_path) is not None:
            # The dataset's path on the server is not the user's business: only its name.
            raise InvalidInput(
                f"Dataset {dataset.name!r} of this group is missing on this server; "
                "ask your administrator",
                field="group",
            )
