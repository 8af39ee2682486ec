"""A person's browser, as a program ``webbrowser`` can start (``BROWSER="python fake_browser.py %s"``).

It opens the URL, signs in at the hosted UI's login page with ``FAKE_BROWSER_USER`` /
``FAKE_BROWSER_PASSWORD``, and follows the redirect to the app's callback (the kernel's
loopback listener), as a real browser would. Used by the terminal-IPython test.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit

import requests


def main(url: str) -> int:
    web = requests.Session()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    first = web.get(url, allow_redirects=False, timeout=10)
    login_url = first.headers["Location"]
    login_url = login_url if "://" in login_url else origin + login_url
    page = web.get(login_url, timeout=10)
    fields = {k: v.replace("&amp;", "&") for k, v in re.findall(r"name='([^']+)' value='([^']*)'", page.text)}
    fields.update(username=os.environ["FAKE_BROWSER_USER"], password=os.environ["FAKE_BROWSER_PASSWORD"])
    done = web.post(origin + "/login", data=fields, allow_redirects=False, timeout=10)
    return 0 if web.get(done.headers["Location"], timeout=10).status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
