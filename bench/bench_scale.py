"""One agency of 100,000 accounts, built once and kept between runs (bench/cached.py), in a process
of its own: the list API and the HTML list page (`page_size=50&platform=douyin&ordering=-followers`,
median of 15 requests) and the pre-check of a 10,000-account task (created, checked, rolled back).
On PostgreSQL when DATABASE_URL is set."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cached  # noqa: E402


def run():
    figures = cached.run_child(cached.database_url("scale"), "scale")
    out = [("scale_100k_list_api_ms", figures["scale_100k_list_api_ms"], "ms"),
           ("scale_100k_list_page_ms", figures["scale_100k_list_page_ms"], "ms"),
           ("scale_100k_precheck_10k_s", figures["scale_100k_precheck_10k_s"], "s")]
    if figures["scale_100k_built_s"]:
        out.append(("scale_100k_built_once_s", figures["scale_100k_built_s"], "s"))
    return out
