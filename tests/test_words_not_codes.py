"""Every page an agency owner can reach, in zh-hans (and in English), shows words, never codes (issue 14).

The crawl starts at the dashboard of the full demo (`seed_demo`: tasks in every state,
approvals, signatures, an executed tier with its deadlines, reminders, alerts), follows every
link and every GET form's default submission inside the back office, and reads the text a
person sees: text nodes, not attributes, and not `<code>` (where a column name of an upload
format may be shown on purpose next to its Chinese header). It fails on:

- snake_case words (`drafts_days`, `signature_declined`, `content_hash`),
- dotted event names (`task.created`),
- a text that is exactly a stored choice value (`douyin`, `draft`, `email`, `owner`).
"""

import os
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from django.db import models
from django.test import Client

SKIP_TAGS = {"script", "style", "code", "pre", "textarea", "template"}
SNAKE = re.compile(r"(?<![\w@./-])[a-z]{2,}(?:_[a-z]{2,})+(?![\w@/-])")
DOTTED = re.compile(r"(?<![\w@./-])[a-z]{3,}\.[a-z_]{3,}(?![\w@/-])")
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|\b[\w-]+\.(?:pdf|png|jpe?g|csv|xlsx|ics|txt|cn|com)\b")
# Downloads and actions, not pages.
NOT_PAGES = re.compile(r"/export|/download|/documents/|\.ics$|/feed/|/logout|/print|/template|/i18n/|/admin/")
MAX_PAGES = 450


def _choice_values() -> set[str]:
    values = set()
    stack = list(models.TextChoices.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        values.update(v for v in cls.values if re.fullmatch(r"[a-z][a-z0-9_.]*", v or ""))
    return values


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.texts: list[str] = []
        self.links: list[str] = []
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form" and (attrs.get("method") or "get").lower() == "get":
            self._form = (attrs.get("action") or "", [])
        if self._form is not None and attrs.get("name"):
            if tag == "input" and attrs.get("type") not in ("checkbox", "radio", "submit", "button", "file"):
                self._form[1].append((attrs["name"], attrs.get("value") or ""))
            elif tag == "select":
                self._select = attrs["name"]
        if tag == "option" and self._select and self._form is not None and "selected" in attrs:
            self._form[1].append((self._select, attrs.get("value") or ""))
        if tag not in ("br", "img", "input", "meta", "link", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        if tag == "select":
            self._select = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        if not data.strip() or any(t in SKIP_TAGS for t in self.stack):
            return
        self.texts.append(data.strip())


def _problems(texts: list[str], choice_values: set[str]) -> list[str]:
    found = []
    for text in texts:
        plain = EMAIL_OR_URL.sub(" ", text)
        found += [f"snake_case “{m}” in “{text[:80]}”" for m in SNAKE.findall(plain)]
        found += [f"dotted name “{m}” in “{text[:80]}”" for m in DOTTED.findall(plain)]
        if text in choice_values:
            found.append(f"bare choice value “{text}”")
    return found


@pytest.fixture
def demo(db, settings):
    settings.DEBUG = True
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", accounts=40, stdout=devnull)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_page_an_agency_owner_reaches_shows_words_not_codes(demo, settings, language):
    from agency.demo import DEMO_PASSWORD

    settings.LANGUAGE_CODE = language
    client = Client(headers={"accept-language": language})
    assert client.login(username="owner@demo-mcn.cn", password=DEMO_PASSWORD)
    # In English a code such as `followers` or `draft` is also the word itself: bare values are
    # looked for on the Chinese pages, snake_case and dotted names on both.
    choice_values = _choice_values() if language == "zh-hans" else set()
    start = "/a/demo-mcn/"
    queue, seen_paths, seen_urls, problems = [start], set(), set(), {}
    while queue and len(seen_urls) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen_urls:
            continue
        seen_urls.add(url)
        response = client.get(url)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        page = _Page()
        page.feed(response.content.decode())
        assert f'lang="{language}"' in response.content.decode()[:300], url
        found = _problems(page.texts, choice_values)
        if found:
            problems[url] = sorted(set(found))[:8]
        candidates = list(page.links)
        for action, fields in page.forms:  # a filter form submitted as it stands (“全部”, empty boxes)
            query = "&".join(f"{k}={v}" for k, v in fields)
            candidates.append(f"{action or urlsplit(url).path}?{query}")
        for href in candidates:
            target = urljoin(url, href)
            parts = urlsplit(target)
            if parts.netloc not in ("", "testserver") or NOT_PAGES.search(parts.path):
                continue
            if not (parts.path.startswith("/a/demo-mcn/") or parts.path.startswith("/inbox/")):
                continue
            key = parts.path + ("?" + parts.query.split("&")[0] if parts.query else "")
            if key in seen_paths:
                continue
            seen_paths.add(key)
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert len(seen_urls) > 40, f"the crawl reached only {len(seen_urls)} pages"
    assert problems == {}, "\n".join(f"{url}: {p}" for url, p in problems.items())
