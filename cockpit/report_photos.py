"""A citizen's photo made safe to keep: every byte of metadata gone and its size bounded.

A phone's JPEG carries where and when it was taken (EXIF GPS), the phone's make and
serial number, sometimes a thumbnail of the uncropped picture, XMP and ICC blocks.
Removing tags one by one misses what a tool does not know, so the photo is decoded to
pixels and written afresh: only the pixels survive, turned upright first (the EXIF
orientation is applied, then dropped), scaled to at most ``MAX_SIDE`` pixels on the
longest side and re-encoded as a baseline JPEG with nothing else in it.

Only JPEG, PNG and WebP are taken. A file larger than the caller's byte limit, or one
that declares more than ``MAX_PIXELS`` pixels (a "decompression bomb" that is small on
the wire), is refused before its pixels are decoded.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

__all__ = ["ACCEPTED_FORMATS", "MAX_PIXELS", "MAX_SIDE", "PhotoError", "clean_photo"]

ACCEPTED_FORMATS: Final = ("JPEG", "PNG", "WEBP")
MAX_SIDE: Final = 1_600
MAX_PIXELS: Final = 40_000_000  # a 48-megapixel phone camera is refused; 40 M is 7,700 x 5,200
_QUALITY: Final = 80


class PhotoError(ValueError):
    """A photo that is not kept: not an image, another format, too large or damaged."""


_STRICT = threading.Lock()


@contextmanager
def _truncation_refused() -> Iterator[None]:
    """Pillow's decoders refuse a truncated file while inside. Pillow keeps the switch in one
    module-wide flag and WeasyPrint (the daily brief's renderer) turns it on when imported,
    so a half-sent photo would otherwise be kept with its lower part grey."""
    with _STRICT:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def clean_photo(data: bytes, max_bytes: int) -> bytes:
    """``data`` (a JPEG, PNG or WebP file of at most ``max_bytes``) as a new JPEG holding
    only its pixels: upright, at most ``MAX_SIDE`` px on its longest side, no EXIF, GPS,
    XMP, ICC, comment or thumbnail. Raises ``PhotoError`` saying why otherwise."""
    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > max_bytes:
        raise PhotoError(f"the photo is larger than {max_bytes // 1024} KiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise PhotoError("a photo is a JPEG, PNG or WebP file")
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise PhotoError("the photo has too many pixels")
                with _truncation_refused():
                    image.load()
                upright = ImageOps.exif_transpose(image) or image
                pixels = upright.convert("RGB")
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("the photo has too many pixels") from None
    except UnidentifiedImageError:
        raise PhotoError("the file is not a photo this page takes") from None
    except (OSError, ValueError, SyntaxError, EOFError):  # truncated or damaged data
        raise PhotoError("the photo is damaged") from None
    pixels.thumbnail((MAX_SIDE, MAX_SIDE))
    # A new image from the bare pixels: nothing of the original's ``info`` comes along.
    bare = Image.new("RGB", pixels.size)
    bare.paste(pixels)
    out = io.BytesIO()
    bare.save(out, format="JPEG", quality=_QUALITY, optimize=True)
    return out.getvalue()
