"""Registers the `folder` data set (ganbench_plugins.folder)."""

import os

from ganbench import Option, hookimpl
from ganbench.api.lazy import implemented_in
from ganbench.api.options import positive

impl = implemented_in("ganbench_plugins.folder")


def _existing(value: str) -> str | None:
    """A missing folder is refused with the config, before the database is made. Empty (the
    build asks for a folder) and a study's unset $NAME (said by name before a run; a dry
    run needs no data) pass here."""
    if not value or value.startswith("$") or os.path.isdir(os.path.expanduser(value)):
        return None
    return "no such directory; give a folder of images"


@hookimpl
def register_datasets(register):
    register(
        "folder",
        lambda cfg: impl().folder(cfg),
        help="a directory of png/jpg/webp images, recursive; or two domains",
        channels=3,
        domains=(1, 2),
        options={
            "data_dir": Option(
                str,
                "",
                "the directory of images for dataset 'folder' (domain A for translation; "
                "with trainA/, trainB/, testA/, testB/ both domains)",
                check=_existing,
            ),
            "data_dir_b": Option(
                str,
                "",
                "domain B's directory, for translation between two plain folders (a tenth of each held out for scores)",
                check=_existing,
            ),
            "skip_bad": Option(
                bool,
                False,
                "train on the images that decode, naming the others in a warning (default: stop and name them all)",
            ),
            "tags_csv": Option(str, "", "CSV of file,tags giving each image its tags (report 002)"),
            "tags": Option(
                str, "", "the tags to condition on, comma-separated (default: all in the CSV)"
            ),
            "tags_max": Option(
                int, 2, "leave out images with more of those tags than this", check=positive
            ),
        },
    )
