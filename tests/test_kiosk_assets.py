"""The kiosk's scripts are ES2017, which the Chrome of a 2018 Android tablet runs (issue 14,
point 7): parsed as served, the service worker as rendered."""

from __future__ import annotations

import esprima
import pytest
from flask.testing import FlaskClient

SCRIPTS = ("/kiosk/kiosk.js", "/kiosk/queue.js", "/kiosk/sw.js")


@pytest.mark.parametrize("path", SCRIPTS)
def test_the_kiosk_scripts_are_es2017(client: FlaskClient, path: str) -> None:
    served = client.get(path)
    assert served.status_code == 200
    assert served.mimetype == "text/javascript"
    source = served.get_data(as_text=True)
    assert "{{" not in source and "{%" not in source  # the worker's template was rendered
    esprima.parseScript(source)  # raises on anything newer than ES2017


@pytest.mark.parametrize("newer", ["a?.b", "a ?? b", "class A { #x = 1 }",
                                   "try {} catch { }"])
def test_the_parser_refuses_what_a_2018_chrome_lacks(newer: str) -> None:
    with pytest.raises(esprima.Error):
        esprima.parseScript(newer)
