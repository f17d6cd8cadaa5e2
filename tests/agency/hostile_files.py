"""Hostile spreadsheets, built the way an attacker would: small files that declare or inflate to
something huge, and files that pass one limit each."""

import io
import zipfile

from .subaccount_helpers import HEADER, xlsx_bytes

SHEET = "xl/worksheets/sheet1.xml"


def rewrite_sheet(content: bytes, change) -> bytes:
    """The same XLSX with its first sheet's XML passed through `change(bytes) -> bytes`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            target.writestr(info.filename, change(data) if info.filename == SHEET else data)
    return out.getvalue()


def small_xlsx() -> bytes:
    return xlsx_bytes([HEADER, ["douyin", "dy_1", "号一", "personal", 10, "", "", "", ""]])


def declared_dimension_bomb(ref: str = "A1:XFD1048576") -> bytes:
    """A tiny file whose sheet declares the whole grid of Excel (1,048,576 rows × 16,384 columns)."""
    import re

    return rewrite_sheet(small_xlsx(), lambda xml: re.sub(rb'<dimension ref="[^"]+"', f'<dimension ref="{ref}"'.encode(),
                                                          xml))


def without_dimension(content: bytes) -> bytes:
    import re

    return rewrite_sheet(content, lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml))


def far_right_cell(column_letters: str = "XFD") -> bytes:
    """One cell far to the right under a small, lying dimension (openpyxl would pad every row to it)."""
    cell = f'<c r="{column_letters}2" t="inlineStr"><is><t>x</t></is></c>'.encode()
    return rewrite_sheet(small_xlsx(), lambda xml: xml.replace(b'<row r="2"', b'<row r="2"', 1).replace(
        b"</row></sheetData>", cell + b"</row></sheetData>", 1))


def inflate_bomb(unpacked_mb: int = 380) -> bytes:
    """A valid-looking XLSX whose sheet XML inflates to `unpacked_mb` MB (about 2.5 MB on disk)."""
    source = zipfile.ZipFile(io.BytesIO(small_xlsx()))
    out = io.BytesIO()
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>' * 1000
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            if info.filename != SHEET:
                target.writestr(info.filename, source.read(info.filename))
        with target.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            written = 0
            while written < unpacked_mb * 2**20:
                sheet.write(row)
                written += len(row)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def other_zip() -> bytes:
    """A zip that is not a spreadsheet (a .docx renamed, an archive of photos)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("photo.txt", "not a spreadsheet")
    return out.getvalue()
