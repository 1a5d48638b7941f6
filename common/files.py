"""Image files: which files are images (IMAGE_EXTENSIONS: every raster format Pillow opens),
listing a folder or glob of them (list_images, with one note for what it passes over), and
finding the first readable one."""
import glob
import os
import sys

from PIL import Image

from common.errors import UserError

# Every file Pillow opens by its extension (JPEG, PNG, BMP, GIF, WebP, TIFF, PPM...), less the
# formats Pillow only names (stubs needing other libraries: HDF5, FITS...) or that are not
# raster images (EPS needs Ghostscript, MPEG is video). TensorFlow decodes JPEG, PNG, BMP and
# GIF; the rest goes through PIL.
NOT_IMAGES = {"BUFR", "GRIB", "HDF5", "FITS", "WMF", "EPS", "MPEG"}
Image.init()
IMAGE_EXTENSIONS = tuple(sorted(ext for ext, fmt in Image.registered_extensions().items()
                                if fmt in Image.OPEN and fmt not in NOT_IMAGES))


def list_images(source, pattern=None):
    """Sorted image paths from a directory (searched recursively, or with `pattern` inside it)
    or from a glob pattern such as 'data/lfw/*/*.jpg'. Files left out (not images by their
    extension, or not matched by `pattern`) are counted in one line; UserError when no image
    is left."""
    if os.path.isdir(source):
        everything = glob.glob(os.path.join(source, "**", "*"), recursive=True)
        paths = glob.glob(os.path.join(source, pattern)) if pattern else everything
    elif glob.has_magic(source):
        everything = paths = glob.glob(source, recursive=True)
    else:
        raise UserError(f"data directory {source} does not exist; pass a folder of images or a "
                        "glob pattern such as 'data/lfw/*/*.jpg'")
    images = sorted(p for p in paths if p.lower().endswith(IMAGE_EXTENSIONS) and os.path.isfile(p))
    report_ignored(source, pattern, sorted(set(p for p in everything if os.path.isfile(p))
                                           - set(images)))
    if not images:
        where = os.path.join(source, pattern) if pattern and os.path.isdir(source) else source
        raise UserError(f"no images match {where}; check the path and pattern (image files: "
                        f"{', '.join(e[1:] for e in ('.jpg', '.png', '.bmp', '.gif', '.webp'))}, "
                        "tiff and the rest Pillow reads)")
    return images


_REPORTED = set()


def report_ignored(source, pattern, ignored):
    """One line (once per process): how many files of `source` are left out, by extension."""
    if not ignored or (source, pattern) in _REPORTED:
        return
    _REPORTED.add((source, pattern))
    counts = {}
    for path in ignored:
        ext = os.path.splitext(path)[1].lower() or "(no extension)"
        counts[ext] = counts.get(ext, 0) + 1
    kinds = ", ".join(f"{ext} x{n}" for ext, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    why = f"not images, or not matching {pattern}" if pattern else "not images"
    print(f"note: ignored {len(ignored)} files in {source} ({why}): {kinds}", file=sys.stderr)


def first_readable(paths, load, where):
    """(path, load(path)) for the first path `load` can read, in order. When none can, one
    UserError for the whole folder (naming the first file's problem) instead of a pipeline
    that filters forever: the probe stops at the first good file, so it costs one decode."""
    first_error = None
    for path in paths:
        try:
            return path, load(path)
        except UserError as error:
            first_error = first_error or error
    raise UserError(f"none of the {len(paths)} files in {where} could be used: {first_error}")
