"""The metrics upload as people fill it: Chinese headers (平台, 平台账号ID, 指标, 数值, 测量时间)
and metric or platform names in either language are accepted next to the column codes; the
file is rewritten with the codes before the service reads it."""

import csv
import io

from django.utils.translation import gettext_lazy as _

from agency.fields import choice_index
from agency.models import Platform
from deadlines.models import Metric

# code → (Chinese header people type, what goes in it)
METRIC_COLUMNS = {
    "sub_account_id": ("子账号ID", _("The sub-account's number in this back office (or use the two columns below)")),
    "platform": ("平台", _("Platform name, e.g. 抖音")),
    "platform_account_id": ("平台账号ID", _("The account id on the platform")),
    "metric": ("指标", _("What was measured (see below)")),
    "value": ("数值", _("A whole number")),
    "measured_at": ("测量时间", _("Date and time, e.g. 2026-12-01 09:00")),
}
HEADER_ALIASES = {zh: code for code, (zh, _help) in METRIC_COLUMNS.items()} | {
    "子账号": "sub_account_id", "平台账号": "platform_account_id", "账号ID": "platform_account_id", "值": "value",
    "时间": "measured_at",
}


def metric_rows() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Metric.choices]


def with_codes(data: bytes) -> bytes:
    """The uploaded CSV with Chinese headers and labels turned into the codes; files that are
    not UTF-8 CSV are returned unchanged (the service explains what is wrong)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            return data
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return data
    header = [HEADER_ALIASES.get(h.strip(), h.strip()) for h in rows[0]]
    metrics, platforms = choice_index(Metric, None), choice_index(Platform, None)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows[1:]:
        cells = []
        for name, cell in zip(header, row, strict=False):
            value = cell.strip()
            if name == "metric":
                value = metrics.get(value.lower(), value)
            elif name == "platform":
                value = platforms.get(value.lower(), value)
            cells.append(value)
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")
