"""The page's gettext catalogues: complete in every language, placeholders intact, template current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from gateway.pages import forms
from gateway.pages.branding import contrast, readable_on_white, text_on
from gateway.pages.i18n import LANGUAGES, LOCALE_DIR, choose_language

ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def extracted() -> set[str]:
    """What `pybabel extract -F gateway/locale/babel.cfg -k N_` finds in the code today."""
    method_map = [("gateway/pages/**.py", "python"), ("gateway/templates/**.html", "jinja2")]
    options = {"gateway/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = extract_from_dir(str(ROOT), method_map, options, keywords=keywords)
    return {_key(message) for _, _, message, _, _ in found}


def test_template_catalogue_is_current() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        template = {_key(m.id) for m in read_po(f) if m.id}
    assert extracted() == template, "run the pybabel extract command in gateway/locale/babel.cfg"


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_message_is_translated(lang: str) -> None:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    assert not catalog.fuzzy
    ids = set()
    for message in catalog:
        if not message.id:
            continue
        ids.add(_key(message.id))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{lang}: {message.id!r} is not translated"
        assert len(strings) == (catalog.num_plurals if isinstance(message.id, tuple) else 1)
        wanted = sorted(_PLACEHOLDER.findall(_key(message.id)))
        for text in strings:
            assert sorted(_PLACEHOLDER.findall(text)) == wanted, f"{lang}: placeholders of {message.id!r}"
    assert ids == extracted()


@pytest.mark.parametrize(("query", "header", "chosen"), [
    (None, "hi-IN,hi;q=0.9,en;q=0.8", "hi"), (None, "zh-CN", "zh"), (None, "da;q=0, id", "id"),
    ("ru", "da", "ru"), ("klingon", "", "en"), (None, "pt;q=1, da;q=0.2, ru;q=0.5", "ru"),
])
def test_language_choice(query: str | None, header: str, chosen: str) -> None:
    assert choose_language(query, header) == chosen


@pytest.mark.parametrize("color", ["#ffffff", "#fde047", "#1f4b99", "#0f766e", "#ff0000", "#777777"])
def test_brand_colours_stay_readable(color: str) -> None:
    assert contrast(readable_on_white(color), "#ffffff") >= 4.5
    assert contrast(color, text_on(color)) >= 4.0


def test_form_tokens_bind_page_action_and_time() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 3, tzinfo=UTC)
    token = forms.issue("s3cret", "page-token", "cancel", now)
    nonce, _ = forms.verify("s3cret", "page-token", "cancel", token, now)
    assert nonce
    for args in [("other", "page-token", "cancel", token, now), ("s3cret", "other", "cancel", token, now),
                 ("s3cret", "page-token", "reschedule", token, now)]:
        with pytest.raises(forms.FormRefused, match="invalid"):
            forms.verify(*args)
    with pytest.raises(forms.FormRefused, match="expired"):
        forms.verify("s3cret", "page-token", "cancel", token, now + timedelta(hours=1))


def test_demo_branding_in_config_is_valid() -> None:
    from gateway.models import Merchant
    from gateway.pages.branding import branding_fields

    fields = branding_fields(ROOT / "config", "Demo Store")
    assert fields["recommendations"] and fields["primary_color"].startswith("#")
    Merchant.model_validate({"id": "mer_x", "name": "Demo Store", "created_at": "2026-11-02T00:00:00Z", **fields})
    assert branding_fields(ROOT / "config", "No Such Store") == {}
