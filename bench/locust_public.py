"""Locust user of the Cek Bansos load benchmark (run by bench/public_search_load.py, not by hand).

Each simulated user is one browser tab: it opens the search page of a village once (GET, not counted in the
search figures: its own name "GET page") to get the CSRF cookie and token and the first challenge, then
searches again and again (POST "search"). Every response page carries the next challenge ("Berapa 3 ditambah
4?"), which the user solves from the page, as a person would; the server keeps each token single-use.

The users stand for many citizens behind the production reverse proxy: every search comes with a different
client address in X-Forwarded-For (random in 10.0.0.0/8) and X-Forwarded-Proto: https, as the proxy would
send; the server believes them only because the bench sets DTSEN_TRUSTED_PROXY=127.0.0.1. The rate limits
stay on and count every request per address.

Queries come from the JSON file named by DTSEN_BENCH_QUERIES: village codes and name prefixes drawn from the
registry by the bench script (recipients: the search finds them; other people and made-up names: "not
found"). The user checks each answer (status 200, a results table or the "not found" note, and a new
challenge) and counts anything else as a failure.
"""

from __future__ import annotations

import json
import os
import random
import re

from locust import FastHttpUser, constant_throughput, events, task

QUESTION = re.compile(r"(?:Berapa|How much is) (\d+) (?:ditambah|plus) (\d+)\?")
TOKEN = re.compile(r'name="challenge_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
FOUND = "data-recipient"
NOT_FOUND = 'id="not-found"'

QUERIES: list[dict[str, str]] = []
RATE = float(os.environ.get("DTSEN_BENCH_USER_RATE", "5"))


@events.init.add_listener
def _load_queries(**_: object) -> None:
    with open(os.environ["DTSEN_BENCH_QUERIES"]) as fh:
        QUERIES.extend(json.load(fh))


def _address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _challenge(html: str) -> tuple[str, str] | None:
    q, t = QUESTION.search(html), TOKEN.search(html)
    if q is None or t is None:
        return None
    return t.group(1), str(int(q.group(1)) + int(q.group(2)))


class Citizen(FastHttpUser):
    wait_time = constant_throughput(RATE)
    csrf_cookie = ""
    csrf_token = ""
    challenge: tuple[str, str] | None = None

    def _headers(self) -> dict[str, str]:
        host = self.host.split("://", 1)[-1]
        return {
            "X-Forwarded-For": _address(),
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{host}",
            "Referer": f"https://{host}/cek-bansos/",
            "Cookie": f"csrftoken={self.csrf_cookie}",
        }

    def on_start(self) -> None:
        q = random.choice(QUERIES)
        params = {"prov": q["prov"], "kab": q["kab"], "kec": q["kec"], "desa": q["desa"]}
        headers = {"X-Forwarded-For": _address(), "X-Forwarded-Proto": "https"}
        with self.client.get("/cek-bansos/", params=params, headers=headers, name="GET page",
                             catch_response=True) as resp:
            html = resp.text or ""
            token = CSRF.search(html)
            cookie = resp.headers.get("set-cookie", "")
            found = re.search(r"csrftoken=([^;]+)", cookie)
            self.challenge = _challenge(html)
            if resp.status_code != 200 or token is None or found is None or self.challenge is None:
                resp.failure(f"page without form/cookie/challenge (status {resp.status_code})")
                return
            self.csrf_token, self.csrf_cookie = token.group(1), found.group(1)

    @task
    def search(self) -> None:
        if self.challenge is None:
            self.on_start()
            return
        q = random.choice(QUERIES)
        token, answer = self.challenge
        data = {"csrfmiddlewaretoken": self.csrf_token, "prov": q["prov"], "kab": q["kab"], "kec": q["kec"],
                "desa": q["desa"], "name": q["name"], "challenge_token": token, "challenge_answer": answer}
        with self.client.post("/cek-bansos/", data=data, headers=self._headers(), name="search",
                              catch_response=True) as resp:
            html = resp.text or ""
            self.challenge = _challenge(html)
            if resp.status_code != 200:
                resp.failure(f"status {resp.status_code}")
            elif self.challenge is None:
                resp.failure("no new challenge on the page")
            elif q["kind"] == "hit" and FOUND not in html:
                resp.failure("a recipient drawn from the registry was not found")
            elif q["kind"] != "hit" and FOUND not in html and NOT_FOUND not in html:
                resp.failure("neither results nor the not-found note")
