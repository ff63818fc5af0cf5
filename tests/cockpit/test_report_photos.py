"""A citizen's photo is kept as bare pixels: EXIF (GPS, camera serial), XMP, ICC and
comments are gone, the picture is upright and bounded, and what is not a photo is
refused with a ``PhotoError``."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from cockpit.report_photos import MAX_SIDE, PhotoError, clean_photo

LIMIT = 4 * 1024 * 1024


def photo_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    """A JPEG as a phone writes one: EXIF with GPS, make, serial and orientation, a
    comment and an ICC profile block."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((20, 20, 220), (0, 0, size[0] // 2, size[1]))  # left half blue
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.BodySerialNumber] = "SN-123456789"
    exif[ExifTags.Base.Orientation] = orientation
    gps = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (37.0, 48.0, 49.08),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (144.0, 57.0, 47.4),
    }
    exif[ExifTags.IFD.GPSInfo] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"taken at home", icc_profile=b"\0" * 128)
    return out.getvalue()


def test_the_photo_made_for_the_tests_does_carry_gps() -> None:
    with Image.open(io.BytesIO(photo_with_gps())) as image:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert gps[ExifTags.GPS.GPSLatitudeRef] == "S"
        assert image.info.get("comment") == b"taken at home"


def test_a_cleaned_photo_keeps_its_pixels_and_nothing_else() -> None:
    raw = photo_with_gps()
    cleaned = clean_photo(raw, LIMIT)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert len(image.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(image.info)
        left, right = image.getpixel((8, 24)), image.getpixel((56, 24))
        assert left[2] > 150 and right[0] > 150  # blue stays left, red right
    for secret in (b"Exif", b"PhoneMaker", b"SN-123456789", b"taken at home", b"GPS"):
        assert secret not in cleaned


def test_a_sideways_photo_is_turned_upright_before_its_orientation_is_dropped() -> None:
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    cleaned = clean_photo(photo_with_gps((64, 48), orientation=6), LIMIT)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (48, 64)


def test_a_large_photo_is_scaled_down() -> None:
    out = io.BytesIO()
    Image.new("RGB", (4000, 1000), (10, 120, 10)).save(out, "PNG")
    with Image.open(io.BytesIO(clean_photo(out.getvalue(), LIMIT))) as image:
        assert image.size == (MAX_SIDE, MAX_SIDE // 4)


def test_a_png_with_transparency_and_text_chunks_is_kept_as_a_bare_jpeg() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Ana Example")
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(out, "PNG", pnginfo=info)
    cleaned = clean_photo(out.getvalue(), LIMIT)
    assert b"Ana Example" not in cleaned and cleaned[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"GIF89a" + b"\0" * 40, "not a photo|JPEG, PNG or WebP"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a photo"),
        (b"%PDF-1.7\n", "not a photo"),
    ],
)
def test_what_is_not_a_photo_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(PhotoError, match=reason):
        clean_photo(data, LIMIT)


def test_a_gif_is_refused_by_its_format() -> None:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    with pytest.raises(PhotoError, match="JPEG, PNG or WebP"):
        clean_photo(out.getvalue(), LIMIT)


def test_a_truncated_photo_is_refused_as_damaged() -> None:
    raw = photo_with_gps((400, 300))
    with pytest.raises(PhotoError, match="damaged"):
        clean_photo(raw[: len(raw) // 2], LIMIT)


def test_an_oversize_file_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(PhotoError, match="larger than"):
        clean_photo(b"\xff\xd8" + b"\0" * 2048, 1024)


@pytest.mark.parametrize("side", [7_000, 10_000])
def test_a_decompression_bomb_is_refused(side: int) -> None:
    # A PNG of side x side single-colour pixels is small on the wire; 10,000 is also past
    # Pillow's own limit.
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    assert len(out.getvalue()) < LIMIT
    with pytest.raises(PhotoError, match="too many pixels"):
        clean_photo(out.getvalue(), LIMIT)


def test_a_truncated_photo_is_refused_even_after_the_brief_renderer_is_loaded() -> None:
    import weasyprint  # noqa: F401  (it lets Pillow load truncated files, module-wide)

    raw = photo_with_gps((400, 300))
    with pytest.raises(PhotoError, match="damaged"):
        clean_photo(raw[: len(raw) // 2], LIMIT)
