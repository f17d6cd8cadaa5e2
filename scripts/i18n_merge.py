"""Fill locale/zh_Hans/LC_MESSAGES/django.po from the per-area fragments in locale/fragments/*.po.

    DEBUG=1 python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=tests --ignore=bench
    python scripts/i18n_merge.py            # fills empty msgstr from fragments, lists what is still missing

Fragments are plain .po snippets (msgid/msgstr pairs, msgid_plural/msgstr[n] allowed).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _unquote(lines: list[str]) -> str:
    """Join the quoted pieces of a field, keeping escapes as written (same on both sides)."""
    return "".join(line.strip()[1:-1] for line in lines if line.strip().startswith('"'))


def parse(text: str) -> list[dict]:
    entries, current, key = [], None, None
    for raw in text.splitlines():
        line = raw.rstrip("\n")
        if not line.strip():
            if current:
                entries.append(current)
            current, key = None, None
            continue
        if current is None:
            current = {"comments": [], "fields": {}, "order": []}
        if line.startswith("#"):
            current["comments"].append(line)
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
        if m:
            key = m.group(1)
            current["fields"][key] = [m.group(2)]
            current["order"].append(key)
        elif line.startswith('"') and key:
            current["fields"][key].append(line)
    if current:
        entries.append(current)
    return entries


def key_of(entry) -> tuple:
    f = entry["fields"]
    return (_unquote(f.get("msgctxt", [])), _unquote(f.get("msgid", [])), _unquote(f.get("msgid_plural", [])))


def render(entry) -> str:
    lines = list(entry["comments"])
    for k in entry["order"]:
        vals = entry["fields"][k]
        lines.append(f"{k} {vals[0]}")
        lines.extend(vals[1:])
    return "\n".join(lines)


def main() -> int:
    translations = {}
    for frag in sorted((ROOT / "locale" / "fragments").glob("*.po")):
        for e in parse(frag.read_text(encoding="utf-8")):
            strs = {k: v for k, v in e["fields"].items() if k.startswith("msgstr")}
            if any(_unquote(v) for v in strs.values()):
                translations[key_of(e)] = strs
    entries = parse(PO.read_text(encoding="utf-8"))
    missing = []
    for e in entries:
        k = key_of(e)
        if k[1] == "":
            continue  # header
        strs = {kk: v for kk, v in e["fields"].items() if kk.startswith("msgstr")}
        if k in translations:
            new = translations[k]
            e["fields"].update(new)
            e["order"] = [o for o in e["order"] if not o.startswith("msgstr")] + sorted(new)
            e["comments"] = [c for c in e["comments"] if "fuzzy" not in c]
        elif not all(_unquote(v) for v in strs.values()) or any("fuzzy" in c for c in e["comments"]):
            missing.append(k[1])
    PO.write_text("\n\n".join(render(e) for e in entries) + "\n", encoding="utf-8")
    for m in missing:
        print(f"missing: {m!r}")
    print(f"{len(missing)} untranslated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
