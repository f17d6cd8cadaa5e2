"""Spreadsheet bytes → rows, for files as people really produce them: XLSX, or CSV saved
by Excel on Chinese Windows (GB18030/GBK), UTF-8 with or without a BOM, UTF-16
("Unicode text"), comma, semicolon or tab separated.

Every file is bounded before and while it is read (limits in settings, see `Limits`):
its size; for an XLSX the zip entries (count, unpacked size, compression ratio) before
openpyxl sees it, then the sheet's declared dimension; the real rows and columns as they
stream; and a wall-clock budget. Rows are yielded one by one (`Table.rows` is an iterator),
never padded to the declared size: a cell far to the right is a refusal, not a million Nones.
"""

import csv
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

from agency.exceptions import DomainValidationError

XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
MAX_ZIP_ENTRIES = 2000
RATIO_FLOOR_BYTES = 1024 * 1024  # entries smaller than this unpacked are not ratio-checked
DIMENSION_HEAD_BYTES = 64 * 1024  # where the <dimension> element must appear in a sheet
DIMENSION_RE = re.compile(rb"<(?:\w+:)?dimension\b[^>]*\bref=\"([A-Za-z]{1,3}\d{1,7}(?::[A-Za-z]{1,3}\d{1,7})?)\"")
CLOCK_EVERY = 500  # rows between two looks at the clock


class FileRejected(DomainValidationError):
    """The file as a whole cannot be read (type, size, encoding, one of the limits): a 400 in the
    one error shape wherever it surfaces, `details.limit` naming the limit."""

    default_code = "file_rejected"

    def __init__(self, message, *, limit: str = "file", details: dict | None = None):
        self.limit = limit
        super().__init__(str(message), details={"limit": limit, **(details or {})})


@dataclass
class Limits:
    size: int
    rows: int
    columns: int
    unpacked: int
    ratio: int
    seconds: float

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(size=settings.MAX_UPLOAD_BYTES, rows=settings.IMPORT_MAX_ROWS, columns=settings.IMPORT_MAX_COLUMNS,
                   unpacked=settings.IMPORT_MAX_UNPACKED_BYTES, ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
                   seconds=settings.IMPORT_TIME_BUDGET_SECONDS)


@dataclass
class Table:
    kind: str  # "csv" or "xlsx"
    rows: Iterator[tuple[int, list]]  # (row number as the spreadsheet shows it, cells), streamed once
    encoding: str = ""
    declared_rows: int | None = None  # the XLSX's declared dimension, when it has one
    limits: Limits | None = field(default=None, repr=False)


def _n(value) -> str:
    return f"{value:,}"


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_BYTES


def check_size(size: int) -> None:
    limit = max_upload_bytes()
    if size > limit:
        raise FileRejected(
            _("The file is %(size).1f MB; the limit is %(limit).0f MB. Split it into smaller files.")
            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024},
            limit="file_size", details={"value": size, "max": limit},
        )


def read_table(content: bytes) -> Table:
    """The first sheet of an XLSX, or a CSV, as a stream of rows; FileRejected when any limit is
    passed (raised here for what can be seen up front, or while the rows are iterated)."""
    check_size(len(content))
    if not content.strip():
        raise FileRejected(_("The file is empty."), limit="type")
    limits = Limits.from_settings()
    if content.startswith(XLSX_MAGIC):
        return _read_xlsx(content, limits)
    if content.startswith(OLE2_MAGIC):
        raise FileRejected(_("This is an old Excel 97–2003 (.xls) file. Save it as .xlsx or CSV and upload again."),
                           limit="type")
    return _read_csv(content, limits)


XLSX_BYTES_PER_ROW_GUESS = 60  # packed bytes per row of a typical registry sheet, for sheets without a dimension


def estimated_rows(content: bytes) -> int:
    """About how many rows a file holds, without reading them (to decide whether an import runs
    as a background job): the sheet's declared dimension for an XLSX, the line breaks of a CSV.
    FileRejected when the file breaks a limit that can be seen up front."""
    if content.startswith(XLSX_MAGIC):
        declared = read_table(content).declared_rows
        return declared if declared is not None else len(content) // XLSX_BYTES_PER_ROW_GUESS
    check_size(len(content))
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


# --- the budget, rows and columns, whatever the format --------------------------------------------

class _Clock:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise FileRejected(
                _("Reading the file took longer than %(limit)s seconds. Split it into smaller files.")
                % {"limit": _n(int(self.seconds)) if self.seconds >= 1 else self.seconds},
                limit="time", details={"max": self.seconds},
            )


def too_many_rows(limit: int, declared: int | None = None) -> FileRejected:
    if declared is not None:
        return FileRejected(_("The sheet declares %(rows)s rows; the limit is %(limit)s rows.")
                            % {"rows": _n(declared), "limit": _n(limit)},
                            limit="rows", details={"value": declared, "max": limit})
    return FileRejected(_("The file has more than %(limit)s rows. Split it into smaller files.")
                        % {"limit": _n(limit)}, limit="rows", details={"max": limit})


def too_many_columns(limit: int, columns: int, *, declared: bool = False, row: int | None = None) -> FileRejected:
    if declared:
        message = _("The sheet declares %(columns)s columns; the limit is %(limit)s columns.")
    else:
        message = _("Row %(row)s has %(columns)s columns; the limit is %(limit)s columns.")
    return FileRejected(message % {"columns": _n(columns), "limit": _n(limit), "row": row},
                        limit="columns", details={"value": columns, "max": limit})


def _bounded(rows, limits: Limits, clock: _Clock) -> Iterator[tuple[int, list]]:
    """Count rows and columns as they stream; look at the clock every few hundred rows."""
    for count, (number, cells) in enumerate(rows, start=1):
        if number > limits.rows or count > limits.rows:
            raise too_many_rows(limits.rows)
        if len(cells) > limits.columns:
            raise too_many_columns(limits.columns, len(cells), row=number)
        if count % CLOCK_EVERY == 0:
            clock.check()
        yield number, cells
    clock.check()


# --- XLSX -----------------------------------------------------------------------------------------

def _not_a_spreadsheet() -> FileRejected:
    return FileRejected(_("The file is neither a CSV nor an XLSX spreadsheet."), limit="type")


def check_zip(archive: zipfile.ZipFile, *, packed_size: int, limits: Limits) -> None:
    """Refuse a zip bomb from its central directory, before anything is inflated. Python's zipfile
    never inflates an entry past its declared size (it fails the CRC instead), so these are bounds."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise FileRejected(_("The spreadsheet holds %(n)s parts; the limit is %(limit)s.")
                           % {"n": _n(len(entries)), "limit": _n(MAX_ZIP_ENTRIES)},
                           limit="zip_entries", details={"value": len(entries), "max": MAX_ZIP_ENTRIES})
    unpacked = sum(e.file_size for e in entries)
    if unpacked > limits.unpacked:
        raise FileRejected(_("The spreadsheet unpacks to %(size)s MB; the limit is %(limit)s MB.")
                           % {"size": _n(unpacked // 2**20), "limit": _n(limits.unpacked // 2**20)},
                           limit="unpacked_size", details={"value": unpacked, "max": limits.unpacked})
    worst = max([e.file_size / max(e.compress_size, 1) for e in entries if e.file_size > RATIO_FLOOR_BYTES]
                + ([unpacked / max(packed_size, 1)] if unpacked > RATIO_FLOOR_BYTES else []), default=0)
    if worst > limits.ratio:
        raise FileRejected(
            _("The spreadsheet is compressed %(ratio)s times; the limit is %(limit)s times. "
              "Save it again from Excel or as CSV.") % {"ratio": _n(int(worst)), "limit": _n(limits.ratio)},
            limit="compression_ratio", details={"value": int(worst), "max": limits.ratio})


def declared_dimension(archive: zipfile.ZipFile, sheet_path: str) -> tuple[int, int] | None:
    """(rows, columns) as the sheet's <dimension ref="A1:XFD1048576"> declares them, read from the
    head of the sheet's XML only."""
    from openpyxl.utils.cell import range_boundaries

    with archive.open(sheet_path) as src:
        head = src.read(DIMENSION_HEAD_BYTES)
    match = DIMENSION_RE.search(head)
    if match is None:
        return None
    try:
        min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode("ascii"))
    except (ValueError, TypeError):
        return None
    return (max_row or min_row or 0), (max_col or min_col or 0)


def _read_xlsx(content: bytes, limits: Limits) -> Table:
    clock = _Clock(limits.seconds)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _not_a_spreadsheet() from exc
    check_zip(archive, packed_size=len(content), limits=limits)
    try:
        reader, sheet_path = _open_workbook(content)
    except FileRejected:
        raise
    except Exception as exc:  # openpyxl raises KeyError, InvalidFileException, … for other zip files
        raise _not_a_spreadsheet() from exc
    dimension = declared_dimension(reader.archive, sheet_path)
    if dimension is not None:
        rows, columns = dimension
        if rows > limits.rows:
            raise too_many_rows(limits.rows, declared=rows)
        if columns > limits.columns:
            raise too_many_columns(limits.columns, columns, declared=True)
    return Table(kind="xlsx", rows=_bounded(_xlsx_rows(reader, sheet_path, limits), limits, clock),
                 declared_rows=dimension[0] if dimension else None, limits=limits)


def _open_workbook(content: bytes):
    """openpyxl's reader up to the styles (dates) and shared strings, without its worksheet
    objects (which read a sheet's size by parsing it and pad rows to the declared dimension)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.styles.stylesheet import apply_stylesheet

    reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    for _sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return reader, rel.target
    raise FileRejected(_("The spreadsheet has no worksheet."), limit="type")


def _xlsx_rows(reader, sheet_path: str, limits: Limits) -> Iterator[tuple[int, list]]:
    from openpyxl.worksheet._reader import WorkSheetParser

    wb = reader.wb
    with reader.archive.open(sheet_path) as src:
        parser = WorkSheetParser(src, reader.shared_strings, data_only=True, epoch=wb.epoch,
                                 date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for number, cells in parser.parse():
            if not cells:
                continue
            width = max(cell["column"] for cell in cells)
            if width > limits.columns:  # refused before a row that wide is built
                raise too_many_columns(limits.columns, width, row=number)
            values = [None] * width
            for cell in cells:
                values[cell["column"] - 1] = cell["value"]
            yield number, values


# --- CSV ------------------------------------------------------------------------------------------

def _decode(content: bytes) -> tuple[str, str]:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8", errors="strict"), "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return content.decode("utf-16"), "utf-16"
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page (GBK); GB18030 is its superset.
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise FileRejected(
            _("The file's text encoding cannot be read. Save it as “CSV UTF-8” or as XLSX and upload again."),
            limit="encoding") from exc


def _read_csv(content: bytes, limits: Limits) -> Table:
    clock = _Clock(limits.seconds)
    kind = filetype.guess(content)
    if kind is not None:
        raise FileRejected(
            _("The file is a %(type)s, neither a CSV nor an XLSX spreadsheet.") % {"type": kind.extension.upper()},
            limit="type")
    try:
        text, encoding = _decode(content)
    except UnicodeDecodeError as exc:
        raise _not_a_spreadsheet() from exc
    if "\x00" in text:
        raise _not_a_spreadsheet()
    sample = "\n".join(line for line in text[:20000].splitlines() if line.strip())[:8000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    return Table(kind="csv", rows=_bounded(_csv_rows(text, delimiter), limits, clock), encoding=encoding,
                 limits=limits)


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from enumerate(reader, start=1)
    except csv.Error as exc:
        raise FileRejected(_("The CSV file is malformed: %(error)s") % {"error": exc}, limit="type") from exc
