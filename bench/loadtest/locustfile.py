"""What staff do, 50 at a time (make loadtest): list and filter sub-accounts (page and API),
open tasks, the approvals inbox, the dashboard, export a filtered list. Requests go to the web
servers in LOADTEST_HOSTS alternately (two gunicorns, as behind a load balancer).

Staff are people: between two clicks they read the page (LOADTEST_THINK seconds, default 2–8).
They signed in earlier in the day: each demo login signs in once through the login form and its
session is shared by the simulated staff using that login (50 people signing in within the same
five seconds is not a working day, and each sign-in is ~0.5 s of PBKDF2 on one core). Sign-in
itself is measured by one more simulated person who signs in again every 15–30 s."""

import itertools
import os
import random
import re

from gevent.lock import Semaphore
from locust import HttpUser, between, task

HOSTS = os.environ.get("LOADTEST_HOSTS", "http://127.0.0.1:8101,http://127.0.0.1:8102").split(",")
AGENCY = "demo-mcn"
# The demo logins without a second factor (legal2 has one: its session would stop at the code step).
LOGINS = ["operator@demo-mcn.cn", "operator2@demo-mcn.cn", "admin@demo-mcn.cn", "legal@demo-mcn.cn",
          "finance@demo-mcn.cn", "owner@demo-mcn.cn", "auditor@demo-mcn.cn"]
PASSWORD = "demo-pass-2026"
THINK = [float(x) for x in os.environ.get("LOADTEST_THINK", "2,8").split(",")]
_next_host = itertools.cycle(HOSTS)
_next_login = itertools.cycle(LOGINS)
_sessions: dict[str, dict] = {}  # login -> cookies of its one sign-in
_sign_in_lock = Semaphore()


def sign_in(client, email: str, name: str = "login") -> dict:
    login = next(_next_host) + "/accounts/login/"
    page = client.get(login, name="login page")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    with client.post(login, {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
                     headers={"Referer": login}, name=name, allow_redirects=False, catch_response=True) as answer:
        if answer.status_code != 302 or "sessionid" not in client.cookies:
            answer.failure(f"sign-in of {email} refused ({answer.status_code})")
    return client.cookies.get_dict()


class Staff(HttpUser):
    host = HOSTS[0]
    wait_time = between(*THINK)

    def url(self, path: str) -> str:
        return next(_next_host) + path  # the session is in the shared database: any server will do

    def on_start(self):
        email = next(_next_login)
        with _sign_in_lock:
            if email not in _sessions:
                _sessions[email] = sign_in(self.client, email)
        self.client.cookies.update(_sessions[email])
        tasks = self.client.get(self.url(f"/api/v1/agencies/{AGENCY}/shutdown-tasks/?page_size=50"), name="api: tasks")
        self.task_ids = [t["id"] for t in tasks.json().get("results", [])] or [0]

    @task(6)
    def list_subaccounts(self):
        self.client.get(self.url(f"/a/{AGENCY}/sub-accounts/"), name="page: sub-accounts")

    @task(6)
    def filter_subaccounts(self):
        platform = random.choice(["douyin", "weibo", "kuaishou", "bilibili"])
        low = random.randint(0, 400000)
        self.client.get(self.url(f"/a/{AGENCY}/sub-accounts/?platform={platform}&followers_min={low}"
                                 f"&followers_max={low + 50000}&ordering=-followers"), name="page: sub-accounts filtered")

    @task(4)
    def api_subaccounts(self):
        self.client.get(self.url(f"/api/v1/agencies/{AGENCY}/sub-accounts/?platform=douyin&high_risk=true"
                                 f"&page={random.randint(1, 10)}"), name="api: sub-accounts filtered")

    @task(3)
    def open_tasks(self):
        self.client.get(self.url(f"/a/{AGENCY}/tasks/"), name="page: tasks")
        self.client.get(self.url(f"/a/{AGENCY}/tasks/{random.choice(self.task_ids)}/"), name="page: task")

    @task(2)
    def inbox(self):
        self.client.get(self.url("/inbox/"), name="page: approvals inbox")

    @task(3)
    def dashboard(self):
        self.client.get(self.url(f"/a/{AGENCY}/"), name="page: dashboard")

    @task(1)
    def export(self):
        low = random.randint(0, 480000)
        self.client.get(self.url(f"/api/v1/agencies/{AGENCY}/sub-accounts/export.csv?platform=wechat"
                                 f"&followers_min={low}&followers_max={low + 20000}"), name="export: filtered CSV")


class SigningIn(HttpUser):
    """One person signing in again and again (a fresh session each time), to time the sign-in."""

    host = HOSTS[0]
    fixed_count = 1
    wait_time = between(15, 30)

    @task
    def sign_in_again(self):
        self.client.cookies.clear()
        sign_in(self.client, random.choice(LOGINS), name="sign-in (login form, PBKDF2)")
